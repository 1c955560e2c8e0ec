"""The console's part of ``tracer demo``: one key per registry role, to sign in at ``/ui/``.

The demo tenant's key is printed by the API step; these are the publisher whose domain
earned money in the ledger step (payout statements), the first-party publisher (releases),
a reviewer whose signing key the certification step made, and an admin.
"""

from __future__ import annotations

from typing import Any


def run(settings: Any, console: Any) -> None:
    from sqlalchemy import inspect
    from tracer.db import session
    from tracer.tenancy import issue_key

    people = [("publisher", "tracer", "releases, yank"),
              ("reviewer", "reviewer-ada", "review queue; sign with "
               f"`tracer review sign … --key {settings.home.resolve()}/keys/"
               "demo-reviewer-ada.pem`"),
              ("admin", "demo-admin", "tenants, quarantine/revoke, commission")]
    with session(settings) as s:
        if inspect(s.connection()).has_table("ledger_statements"):
            people.insert(1, ("publisher", "northwind", "payout statements"))
        keys = [(role, subject, why, issue_key(s, role, subject=subject,
                                                name="console demo")[1])
                for role, subject, why in people]
    console.rule("Web console keys")
    for role, subject, why, key in keys:
        console.print(f"{role} {subject} ({why}):", markup=False)
        console.print(key, soft_wrap=True, markup=False)
