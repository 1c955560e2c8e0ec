"""The one error hierarchy of Tracer.

Every error the platform raises on purpose is a ``TracerError``. Each class carries the
HTTP status and problem type it maps to (RFC 9457), so the API turns any of them into a
problem response in one place, and the CLI prints ``str(error)`` as a one-line message.

The classes here are *kinds* of failure (not found, conflict, invalid, forbidden, ...) and
the errors core itself raises. A distribution that extends the platform owns its own
errors and subclasses a kind: ``tracer_registry.errors.RegistryError`` and
``CertificationError`` are ``InvalidError``s, ``tracer_registry.ledger.errors.LedgerError``
is a ``ConflictError``. The problem handler needs no entry for them: the kind (and the
subclass's own title and slug) decides the response.

    TracerError
    ├── ConfigurationError          settings that cannot work
    ├── PluginError                 a plugin failed to load or misbehaved in a hook
    │   ├── IncompatiblePluginError the plugin's `tracer` range excludes this platform
    │   └── PluginRevokedError      the registry revoked or quarantined the plugin (410)
    ├── UnknownDomainError          no loaded plugin provides this domain
    ├── InvalidError                a request whose content fails a check (400)
    │   └── ValidationError         input records, files or fields that are wrong (422)
    │       └── LabelError          the label column cannot train a model
    ├── NotFoundError               an object that does not exist (or is not yours)
    ├── ConflictError               an object exists already / state forbids the act
    ├── AuthError                   missing or bad credentials
    │   └── ForbiddenError          credentials valid, role insufficient
    ├── QuotaError                  over a tier's allowance
    ├── LimitError                  a body, batch or upload over a named limit
    └── ModelError                  training or loading a model failed

    elsewhere, subclassing a kind:
    InvalidError  ← tracer_registry.errors.RegistryError       publishing, verifying, installing
    InvalidError  ← tracer_registry.errors.CertificationError  a certification check or review
    ConflictError ← tracer_registry.ledger.errors.LedgerError  a money rule would be broken
"""

from __future__ import annotations

from typing import Any


class TracerError(Exception):
    """Base of every error Tracer raises on purpose."""

    status: int = 500
    title: str = "Internal error"
    slug: str = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        return self.message

    @property
    def type_uri(self) -> str:
        return f"https://tracer.dev/problems/{self.slug}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if instance:
            body["instance"] = instance
        body.update(self.details)
        return body


class ConfigurationError(TracerError):
    status, title, slug = 500, "Configuration error", "configuration"


class PluginError(TracerError):
    status, title, slug = 500, "Plugin error", "plugin"


class IncompatiblePluginError(PluginError):
    slug = "incompatible-plugin"


class PluginRevokedError(PluginError):
    status, title, slug = 410, "Plugin revoked", "plugin-revoked"


class UnknownDomainError(TracerError):
    status, title, slug = 404, "Unknown domain", "unknown-domain"


class InvalidError(TracerError):
    """The request is well formed but what it carries fails a check (a file that is not a
    wheel, a signature that does not verify, a digest that is not one)."""

    status, title, slug = 400, "Invalid request", "invalid"


class ValidationError(InvalidError):
    """Input that breaks a schema or a rule on its fields: 422, with where it went wrong."""

    status, title, slug = 422, "Invalid input", "validation"


class LabelError(ValidationError):
    slug = "label"


class NotFoundError(TracerError):
    status, title, slug = 404, "Not found", "not-found"


class ConflictError(TracerError):
    status, title, slug = 409, "Conflict", "conflict"


class AuthError(TracerError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class ForbiddenError(AuthError):
    status, title, slug = 403, "Forbidden", "forbidden"


class QuotaError(TracerError):
    status, title, slug = 429, "Quota exceeded", "quota"


class LimitError(TracerError):
    status, title, slug = 413, "Limit exceeded", "limit"


class UnavailableError(TracerError):
    """A store the platform needs (the database) did not answer: try again shortly."""
    status, title, slug = 503, "Service unavailable", "unavailable"


class ModelError(TracerError):
    status, title, slug = 500, "Model error", "model"
