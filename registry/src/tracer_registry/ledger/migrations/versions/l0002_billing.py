"""ledger: tier changes, tenant payments, operator audit; transactions declare their legs

SQLite gets the balance rule below the ORM too: a transaction row declares how many entries
it has (``legs`` >= 2, refused otherwise); an entry for a transaction that declares none, an
entry beyond the declared count, and the last declared entry of a transaction that does not
balance per currency are refused by triggers. (PostgreSQL keeps its deferred constraint
trigger from l0001.)

Revision ID: l0002
Revises: l0001
"""

import sqlalchemy as sa
from alembic import op

revision = "l0002"
down_revision = "l0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SIGNED = "CASE side WHEN 'D' THEN amount ELSE -amount END"
_COUNT = "(SELECT count(*) FROM ledger_entries WHERE transaction_id = NEW.transaction_id)"
_LEGS = "(SELECT legs FROM ledger_transactions WHERE id = NEW.transaction_id)"
SQLITE_TRIGGERS = (
    "CREATE TRIGGER ledger_transactions_legs BEFORE INSERT ON ledger_transactions "
    "WHEN NEW.legs IS NULL OR NEW.legs < 2 BEGIN SELECT RAISE(ABORT, "
    "'ledger: a transaction needs two or more entries (legs)'); END",
    f"CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries BEGIN "
    f"SELECT RAISE(ABORT, 'ledger: entry of a transaction that declares no legs') "
    f"WHERE {_LEGS} IS NULL; "
    f"SELECT RAISE(ABORT, 'ledger: more entries than the transaction declares') "
    f"WHERE {_COUNT} > {_LEGS}; "
    f"SELECT RAISE(ABORT, 'ledger: transaction does not balance per currency') "
    f"WHERE {_COUNT} = {_LEGS} AND EXISTS (SELECT 1 FROM ledger_entries "
    f"WHERE transaction_id = NEW.transaction_id GROUP BY currency "
    f"HAVING sum({_SIGNED}) <> 0); END",
)


def upgrade() -> None:
    with op.batch_alter_table("ledger_transactions") as batch:
        batch.add_column(sa.Column("legs", sa.Integer, nullable=True))
    op.create_table(
        "ledger_tier_changes",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("tier_from", sa.String(32), nullable=False),
        sa.Column("tier_to", sa.String(32), nullable=False),
        sa.Column("caused_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "ledger_payments",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("settled", sa.BigInteger, nullable=False),
        sa.Column("credited", sa.BigInteger, nullable=False),
        sa.Column("transaction_id", sa.String(200), nullable=False),
        sa.CheckConstraint("amount > 0 AND settled >= 0 AND credited >= 0 "
                           "AND settled + credited = amount", name="ck_ledger_payments"),
    )
    op.create_table(
        "ledger_operator_audit",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_balanced")
        op.execute("DROP TRIGGER IF EXISTS ledger_transactions_legs")
    for table in ("ledger_operator_audit", "ledger_payments", "ledger_tier_changes"):
        op.drop_table(table)
    with op.batch_alter_table("ledger_transactions") as batch:
        batch.drop_column("legs")
