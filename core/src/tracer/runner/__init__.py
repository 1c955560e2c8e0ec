"""Confined runners: where third-party plugin code runs, and nowhere else.

Platform-signed first-party plugins (``settings.plugins.first_party``, installed in the platform's
own environment) run in-process. Every other plugin is never imported by a host process:
``tracer.host`` starts a runner for it (``pool``), a separate process inside a
kernel-enforced box (``sandbox``: namespaces and a read-only view without platform data;
``seccomp``; rlimits) that imports the plugin and answers hook calls over a pipe
(``protocol``, ``child``, ``serve``). The host registers a proxy (``remote``) whose hooks
call the runner of (distribution, current tenant) and check what comes back.

``tenant_scope`` says whose records a call carries; a runner serves one tenant only.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

#: the tenant whose records the current hook calls carry (None: platform/reference data)
current_tenant: ContextVar[str | None] = ContextVar("tracer_runner_tenant", default=None)


@contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    """Hook calls inside this block go to runners that serve ``tenant`` only."""
    token = current_tenant.set(tenant)
    try:
        yield
    finally:
        current_tenant.reset(token)
