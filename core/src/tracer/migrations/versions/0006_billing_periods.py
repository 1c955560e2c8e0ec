"""Recurring billing: domain_installs.uninstalled_at; usage_events.quantity is 64-bit.

Usage payload hashes now cover ``occurred_at``: stored hashes are recomputed with it, so a
replay of an event recorded before this revision still matches.

Revision ID: 0006
Revises: 0004
"""

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _instant(moment: datetime) -> str:
    # tracer.usage.instant, frozen here: a migration must not change when the code does
    from datetime import UTC

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rehash(with_time: bool) -> None:
    conn = op.get_bind()
    events = sa.table("usage_events", sa.column("id"), sa.column("tenant_id"),
                      sa.column("kind"), sa.column("domain"), sa.column("quantity"),
                      sa.column("attrs", sa.JSON), sa.column("occurred_at", sa.DateTime),
                      sa.column("payload_hash"))
    rows = conn.execute(sa.select(events.c.id, events.c.tenant_id, events.c.kind,
                                  events.c.domain, events.c.quantity, events.c.attrs,
                                  events.c.occurred_at)).all()
    updates = []
    for event_id, tenant, kind, domain, quantity, attrs, at in rows:
        body = [tenant, kind, domain, quantity, attrs or {}]
        if with_time:
            body.append(_instant(at))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode())
        updates.append({"event": event_id, "digest": digest.hexdigest()})
    if updates:
        conn.execute(events.update().where(events.c.id == sa.bindparam("event"))
                     .values(payload_hash=sa.bindparam("digest")), updates)


def upgrade() -> None:
    with op.batch_alter_table("domain_installs") as batch:
        batch.add_column(sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("usage_events", "quantity", type_=sa.BigInteger,
                        existing_type=sa.Integer)
    _rehash(with_time=True)


def downgrade() -> None:
    _rehash(with_time=False)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("usage_events", "quantity", type_=sa.Integer,
                        existing_type=sa.BigInteger)
    with op.batch_alter_table("domain_installs") as batch:
        batch.drop_column("uninstalled_at")
