"""``tracer admin``: tenants and API keys (keys are shown once and stored hashed)."""

from __future__ import annotations

import typer
from rich.table import Table

from tracer.cli.context import console, platform

admin = typer.Typer(help="Tenants and API keys.", no_args_is_help=True)


@admin.command("create-tenant")
def create_tenant(tenant_id: str = typer.Argument(..., help="Slug, e.g. acme."),
                  name: str = typer.Option(None, "--name"),
                  tier: str = typer.Option("starter", "--tier",
                                           help="starter, professional or enterprise.")
                  ) -> None:
    """Create a tenant on a tier."""
    from tracer import tenancy
    from tracer.db import session

    h, _ = platform()
    with session(h.settings) as s:
        tenancy.create_tenant(s, tenant_id, name or tenant_id, tier, h.settings.tiers,
                              h.settings)
    console.print(f"tenant {tenant_id} created on the {tier} tier")


@admin.command("issue-key")
def issue_key(role: str = typer.Option("tenant", "--role",
                                       help="tenant, publisher, reviewer or admin."),
              tenant: str = typer.Option(None, "--tenant", help="For tenant keys."),
              subject: str = typer.Option(None, "--subject", help="Who holds a non-tenant "
                                          "key."),
              name: str = typer.Option("", "--name")) -> None:
    """Issue a key; it is printed once and only its hash is stored."""
    from tracer import tenancy
    from tracer.db import session

    h, _ = platform()
    with session(h.settings) as s:
        key, plaintext = tenancy.issue_key(s, role, tenant_id=tenant, subject=subject,
                                           name=name, settings=h.settings)
        key_id = key.id
    console.print(f"key {key_id} ({role}); keep it now, it is not shown again:")
    typer.echo(plaintext)


@admin.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke a key by its id."""
    from tracer import tenancy
    from tracer.db import session

    h, _ = platform()
    with session(h.settings) as s:
        tenancy.revoke_key(s, key_id)
    console.print(f"key {key_id} revoked")


@admin.command("list-keys")
def list_keys(tenant: str = typer.Option(None, "--tenant")) -> None:
    """Keys (ids, prefixes, roles; never the secrets)."""
    from sqlalchemy import select

    from tracer.db import session
    from tracer.models import ApiKey

    h, _ = platform()
    table = Table(title="API keys")
    for column in ("id", "prefix", "role", "tenant", "subject", "name", "revoked"):
        table.add_column(column)
    with session(h.settings) as s:
        query = select(ApiKey).order_by(ApiKey.created_at)
        if tenant:
            query = query.where(ApiKey.tenant_id == tenant)
        for k in s.scalars(query):
            table.add_row(k.id, k.prefix, k.role, k.tenant_id or "", k.subject, k.name,
                          k.revoked_at.isoformat() if k.revoked_at else "")
    console.print(table)


@admin.command("list-tenants")
def list_tenants() -> None:
    """Tenants with their tiers."""
    from sqlalchemy import select

    from tracer.db import session
    from tracer.models import Tenant

    h, _ = platform()
    table = Table(title="Tenants")
    for column in ("id", "name", "tier", "active"):
        table.add_column(column)
    with session(h.settings) as s:
        for t in s.scalars(select(Tenant).order_by(Tenant.id)):
            table.add_row(t.id, t.name, t.tier, "yes" if t.active else "no")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(admin, name="admin")
