"""The registry's own settings (``TRACER_REGISTRY__*``), apart from the platform's.

The registry owns the ``registry`` section of the ``TRACER_<SECTION>__<FIELD>`` names core
uses (core's settings ignore it); the old ``TRACER_REGISTRY_<FIELD>`` names are logged with
their new ones, not read.

- ``name_policy``: what publish does with a near-miss of a protected name (``refuse``, or
  ``hold``: the release is stored quarantined with the reason, for a human to lift).
- ``timestamp_lifetime_seconds``: how long a signed index timestamp is valid. A host that
  cannot refresh within it stops installing; a replayed old index is refused after it.
- ``pinned_root``: the catalog's TUF root metadata a host trusts, shipped with the
  registry's configuration (``tracer catalog export-root``). A host never takes a root
  from the index it is about to verify (no trust on first use). Unset, a host takes the
  root shipped inside this package (``SHIPPED_ROOT``, where an operator's build of the
  host distribution puts ``export-root``'s file), else the file the registry writes next
  to its keys when it creates them (a single-machine deployment).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tracer.settings_renamed import warn_renamed

if TYPE_CHECKING:
    from tracer.settings import Settings


class RegistryConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACER_REGISTRY__", extra="ignore")

    name_policy: Literal["refuse", "hold"] = "refuse"
    timestamp_lifetime_seconds: int = Field(default=6 * 3600, ge=60)
    pinned_root: Path | None = None

    def model_post_init(self, context: object, /) -> None:
        warn_renamed(os.environ, REGISTRY_RENAMED)


#: the flat names before sections (``TRACER_REGISTRY_<FIELD>``) -> the field now
REGISTRY_RENAMED = {f"registry_{name}": f"registry.{name}" for name in RegistryConfig.model_fields}


def registry_config() -> RegistryConfig:
    """Read from the environment on every call: tests and operators change it live."""
    return RegistryConfig()


#: the catalog root shipped in the registry package (absent in this source tree)
SHIPPED_ROOT = Path(__file__).resolve().parent / "host_config" / "catalog-root.json"


def pinned_root_path(settings: Settings) -> Path:
    configured = registry_config().pinned_root
    if configured:
        return configured
    return SHIPPED_ROOT if SHIPPED_ROOT.is_file() else default_pinned_root(settings)


def default_pinned_root(settings: Settings) -> Path:
    return settings.home.resolve() / "registry" / "host-config" / "root.json"
