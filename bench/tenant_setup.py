"""What several benchmarks start from: a platform home whose database holds one enterprise
tenant with a key and one enabled domain (the benchmark's own process, embedded defaults)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.host import PluginHost
    from tracer.settings import Settings


def enabled_tenant(home: Path, tenant: str, domain: str) -> tuple[Settings, PluginHost, str]:
    """Point ``TRACER_HOME`` at ``home``, migrate it, create ``tenant`` with ``domain``
    installed and enabled; the settings, the host and the tenant's API key."""
    os.environ["TRACER_HOME"] = str(home)
    from tracer import db, tenancy
    from tracer.host import PluginHost
    from tracer.installs import install, set_enabled
    from tracer.settings import get_settings

    settings = get_settings()
    settings.ensure_home()
    host = PluginHost(settings)
    db.upgrade(settings, extra=host.migration_trees())
    with db.session(settings) as s:
        tenancy.create_tenant(s, tenant, "Bench", "enterprise", settings.tiers)
        _, key = tenancy.issue_key(s, "tenant", tenant_id=tenant)
        install(s, tenant, domain, host.domain(domain).version)
        set_enabled(s, tenant, domain, True)
    return settings, host, key
