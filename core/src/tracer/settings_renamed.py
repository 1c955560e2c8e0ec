"""Settings that moved: each old flat name and the section field that replaced it.

Settings were one flat list (``TRACER_RUNNER_MEMORY_BYTES``) and are now sections
(``TRACER_RUNNER__MEMORY_BYTES``, ``settings.runner.memory_bytes``). An operator upgrading
still has the old names in env files; they are not read, so each one present is logged once
with its new name instead of being dropped in silence. Other distributions pass their own
table (``tracer_registry.config``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

log = logging.getLogger("tracer.settings")

#: old flat field of core's Settings -> its dotted path now
CORE_RENAMED: dict[str, str] = {
    "mlflow_tracking_uri": "mlflow.tracking_uri",
    "mlflow_artifact_root": "mlflow.artifact_root",
    "plugins_allow": "plugins.allow",
    "plugins_block": "plugins.block",
    "plugin_dir": "plugins.dir",
    "first_party": "plugins.first_party",
    "kill_list_poll_seconds": "plugins.kill_list_poll_seconds",
    **{f"runner_{name}": f"runner.{name}" for name in (
        "memory_bytes", "cpu_seconds", "open_files", "file_bytes", "scratch_bytes", "threads",
        "call_seconds", "train_seconds", "start_seconds", "idle_seconds", "max")},
    **{name: f"training.{name}" for name in (
        "eval_fraction", "calibration_fraction", "bootstrap_samples", "tenant_row_weight",
        "dask_scheduler_address")},
    **{f"training_{name}": f"training.{name}" for name in (
        "backend", "slots", "max_rounds", "max_depth", "max_rows", "max_seconds",
        "max_attempts", "poll_seconds", "heartbeat_seconds")},
    "api_host": "api.host",
    "api_port": "api.port",
    "api_workers": "api.workers",
    **{name: f"api.{name}" for name in (
        "max_batch_rows", "max_body_bytes", "max_upload_bytes", "max_upload_expanded_bytes",
        "max_upload_rows", "max_active_keys", "max_name_chars", "mcp_calls_per_minute",
        "champion_refresh_seconds", "auth_cache_seconds")},
    "metrics_token": "telemetry.metrics_token",
    "metrics_dir": "telemetry.metrics_dir",
    "ui_secret": "ui.secret",
    "ui_session_seconds": "ui.session_seconds",
    **{name: f"billing.{name}" for name in (
        "currency", "overage_price_micros", "training_run_price_micros",
        "custom_domain_price_micros")},
}

_warned: set[str] = set()


def env_name(path: str, prefix: str = "TRACER_") -> str:
    """``runner.memory_bytes`` -> ``TRACER_RUNNER__MEMORY_BYTES``."""
    return prefix + path.upper().replace(".", "__")


def variables_of(model: type[BaseModel], prefix: str = "TRACER_") -> set[str]:
    """Every environment variable ``model`` reads: a section's fields as
    ``<PREFIX><SECTION>__<FIELD>`` (the docs and their tests list them from here)."""
    from pydantic import BaseModel

    out: set[str] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= variables_of(kind, f"{prefix}{name.upper()}__")
        else:
            out.add(prefix + name.upper())
    return out


def renamed_in(environ: Mapping[str, str], renamed: Mapping[str, str],
               prefix: str = "TRACER_") -> list[tuple[str, str]]:
    """The old variables set in ``environ``, each with the variable that replaced it."""
    hits = [(prefix + old.upper(), env_name(new, prefix)) for old, new in renamed.items()]
    return sorted((old, new) for old, new in hits if old in environ)


def warn_renamed(environ: Mapping[str, str], renamed: Mapping[str, str],
                 prefix: str = "TRACER_") -> list[tuple[str, str]]:
    """Log each old variable still set (once a process); returns every one found."""
    found = renamed_in(environ, renamed, prefix)
    for old, new in found:
        if old not in _warned:
            _warned.add(old)
            log.warning("%s is no longer read: set %s instead", old, new)
    return found
