"""The API part of ``tracer demo``: a demo tenant with a key, its own champion of one loaded
domain, a curl line that returns a prediction with its reasons, and then the API serving."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from tracer.db import session

if TYPE_CHECKING:
    from tracer.host import PluginHost
    from tracer.tracking import ModelStore

DEMO_TENANT = "demo"


def demo_domain(host: PluginHost) -> str | None:
    """The loaded domain with the smallest reference data: the quickest to train again."""
    sizes = {name: len(d.load_reference()) for name, d in host.domains.items()}
    return min(sorted(sizes), key=sizes.__getitem__) if sizes else None


def prepare_demo_tenant(host: PluginHost, store: ModelStore, console: Any) -> str | None:
    """Create (or reuse) the demo tenant, enable a domain, train its champion; returns a key."""
    from tracer import installs, lifecycle, models, tenancy

    name = demo_domain(host)
    if name is None:
        console.print("[yellow]no domain is loaded; no API demo[/]")
        return None
    domain = host.domain(name)
    settings = host.settings
    with session(settings) as s:
        if s.get(models.Tenant, DEMO_TENANT) is None:
            tenancy.create_tenant(s, DEMO_TENANT, "Demo tenant", "professional", settings.tiers)
        if installs.find_install(s, DEMO_TENANT, domain.name) is None:
            installs.install(s, DEMO_TENANT, domain.name, domain.version)
        installs.set_enabled(s, DEMO_TENANT, domain.name, True)
        _, plaintext = tenancy.issue_key(s, "tenant", tenant_id=DEMO_TENANT, name="demo")
    if store.alias(lifecycle.model_name_for(domain, DEMO_TENANT), "champion") is None:
        console.print(f"training the demo tenant's own {domain.name} model …")
        lifecycle.train(host, store, domain.name, tenant=DEMO_TENANT)
    return plaintext


def curl_example(key: str, host: str, port: int, domain: Any) -> str:
    from tracer.records import example_record

    body = json.dumps({"record": example_record(domain)}, separators=(",", ":"))
    return (f"curl -s http://{host}:{port}/v1/domains/{domain.name}/predict \\\n"
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
    name = demo_domain(host)
    if name is None:  # pragma: no cover - a demo key means a domain was there to enable
        return
    domain = host.domain(name)
    console.print(curl_example(key, settings.api.host, settings.api.port, domain),
                  soft_wrap=True,
                  markup=False)
    console.print(f"Web console: http://{settings.api.host}:{settings.api.port}/ui/ "
                  "(sign in with the key above)", soft_wrap=True, markup=False)
    if serve:
        from tracer.cli.serve import serve_worker

        serve_worker(settings.api.host, settings.api.port)
