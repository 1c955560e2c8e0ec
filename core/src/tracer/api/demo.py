"""The API part of ``tracer demo``: a demo tenant with a key, its own LoL champion, a curl
line that returns a prediction with its reasons, and then the API serving."""

from __future__ import annotations

import json
import shlex
from typing import Any

from tracer.db import session
from tracer.host import PluginHost
from tracer.tracking import ModelStore

DEMO_TENANT = "demo"
DEMO_DOMAIN = "esports/lol-10min"


def prepare_demo_tenant(host: PluginHost, store: ModelStore, console: Any) -> str | None:
    """Create (or reuse) the demo tenant, enable LoL, train its champion; returns a new key."""
    from tracer import installs, lifecycle, tenancy

    if DEMO_DOMAIN not in host.domains:
        console.print(f"[yellow]{DEMO_DOMAIN} is not loaded; no API demo[/]")
        return None
    domain = host.domain(DEMO_DOMAIN)
    settings = host.settings
    with session(settings) as s:
        if s.get(tenancy.Tenant, DEMO_TENANT) is None:
            tenancy.create_tenant(s, DEMO_TENANT, "Demo tenant", "professional", settings.tiers)
        if installs.find_install(s, DEMO_TENANT, domain.name) is None:
            installs.install(s, DEMO_TENANT, domain.name, domain.version)
        installs.set_enabled(s, DEMO_TENANT, domain.name, True)
        _, plaintext = tenancy.issue_key(s, "tenant", tenant_id=DEMO_TENANT, name="demo")
    if store.alias(lifecycle.model_name_for(domain, DEMO_TENANT), "champion") is None:
        console.print(f"training the demo tenant's own {DEMO_DOMAIN} model …")
        lifecycle.train(host, store, DEMO_DOMAIN, tenant=DEMO_TENANT)
    return plaintext


def curl_example(key: str, host: str, port: int) -> str:
    from tracer.api.schemas import LOL_RECORD_EXAMPLE

    body = json.dumps({"record": LOL_RECORD_EXAMPLE}, separators=(",", ":"))
    return (f"curl -s http://{host}:{port}/v1/domains/{DEMO_DOMAIN}/predict \\\n"
            f"  -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(body)}")


def run_api_demo(host: PluginHost, store: ModelStore, console: Any, serve: bool) -> None:
    key = prepare_demo_tenant(host, store, console)
    if key is None:
        return
    settings = host.settings
    console.rule("API")
    console.print(f"demo tenant [bold]{DEMO_TENANT}[/], API key (shown once):")
    console.print(key, soft_wrap=True, markup=False)
    console.print("Ask for a prediction with its reasons:")
    console.print(curl_example(key, settings.api_host, settings.api_port), soft_wrap=True,
                  markup=False)
    if serve:
        from tracer.cli.serve import serve_app

        serve_app(settings.api_host, settings.api_port)
