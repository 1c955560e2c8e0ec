"""ledger: accounts, transactions, append-only entries, invoices, refunds, statements, payouts

On PostgreSQL the money rules are also enforced below the application: entries,
transactions and statements refuse UPDATE, DELETE and TRUNCATE; a DEFERRABLE INITIALLY
DEFERRED constraint trigger refuses a commit in which any transaction does not balance per
currency or has fewer than two entries. SQLite gets the append-only triggers too.

Revision ID: l0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "l0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FROZEN = ("ledger_entries", "ledger_transactions", "ledger_statements")

PG_FUNCTIONS = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % is append-only (% refused); post a reversing transaction',
    TG_TABLE_NAME, TG_OP USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  legs integer;
  unbalanced text;
BEGIN
  SELECT count(*) INTO legs FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
  IF legs < 2 THEN
    RAISE EXCEPTION 'ledger: transaction % has % entry, needs two or more',
      NEW.transaction_id, legs USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  SELECT currency INTO unbalanced FROM ledger_entries
   WHERE transaction_id = NEW.transaction_id GROUP BY currency
  HAVING sum(CASE WHEN side = 'D' THEN amount ELSE -amount END) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger: transaction % does not balance in %',
      NEW.transaction_id, unbalanced USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "ledger_price_plans",
        sa.Column("domain", sa.String(128), primary_key=True),
        sa.Column("publisher_id", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("monthly_fee_minor", sa.BigInteger, nullable=False),
        sa.Column("prediction_price_micros", sa.BigInteger, nullable=False),
        sa.Column("commission_bps", sa.Integer, nullable=False),
        sa.Column("rule_version", sa.String(32), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ledger_tax_rates",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("tax_bps", sa.Integer, nullable=False),
    )
    op.create_table(
        "ledger_payout_thresholds",
        sa.Column("publisher_id", sa.String(64), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("minimum", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_periods",
        sa.Column("id", sa.String(7), primary_key=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("closed_at", TZ),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("normal", sa.String(1), nullable=False),
        sa.Column("allow_negative", sa.Boolean, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.CheckConstraint("normal IN ('D', 'C')", name="ck_ledger_accounts_normal"),
        sa.CheckConstraint("allow_negative OR balance >= 0", name="ck_ledger_accounts_negative"),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.Column("caused_by", sa.String(200), nullable=False),
        sa.Column("source_event", sa.String(200), nullable=False),
        sa.Column("rule_version", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("effective_at", TZ, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64)),
        sa.Column("publisher_id", sa.String(64), index=True),
        sa.Column("domain", sa.String(128)),
        sa.Column("line_id", sa.String(300), index=True),
        sa.Column("memo", sa.JSON, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.String(200), sa.ForeignKey("ledger_transactions.id"),
                  nullable=False, index=True),
        sa.Column("account_id", BIG_ID, nullable=False, index=True),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_ledger_entries_side"),
        sa.ForeignKeyConstraint(["account_id", "currency"],
                                ["ledger_accounts.id", "ledger_accounts.currency"],
                                name="fk_ledger_entries_account_currency"),
    )
    op.create_table(
        "ledger_invoices",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "ledger_usage_claims",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("invoice_id", sa.String(200), nullable=False, index=True),
    )
    op.create_table(
        "ledger_invoice_lines",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("invoice_id", sa.String(200), nullable=False, index=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("domain", sa.String(128)),
        sa.Column("publisher_id", sa.String(64), index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("unit_price_micros", sa.BigInteger, nullable=False),
        sa.Column("accrued_micros", sa.BigInteger, nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("share", sa.BigInteger, nullable=False),
        sa.Column("commission_bps", sa.Integer, nullable=False),
        sa.Column("rule_version", sa.String(32), nullable=False),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.Column("transaction_id", sa.String(200)),
        sa.CheckConstraint("tax + fee + share = gross", name="ck_ledger_lines_split"),
        sa.CheckConstraint("refunded >= 0 AND refunded <= gross", name="ck_ledger_lines_refund"),
    )
    op.create_table(
        "ledger_refunds",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("line_id", sa.String(300), sa.ForeignKey("ledger_invoice_lines.id"),
                  nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reverses", sa.String(200), unique=True),
        sa.Column("transaction_id", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "ledger_statements",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("publisher_id", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("publisher_id", "currency", "period"),
    )
    op.create_table(
        "ledger_payouts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("publisher_id", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("entry_ids", sa.JSON, nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_ledger_payouts_amount"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table in FROZEN:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()")
        op.execute("CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON "
                   "ledger_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION ledger_check_balanced()")
    elif dialect == "sqlite":
        for table in FROZEN:
            for act in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{act.lower()} BEFORE {act} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'ledger: {table} is append-only "
                           f"({act} refused); post a reversing transaction'); END")


def downgrade() -> None:
    for table in ("ledger_payouts", "ledger_statements", "ledger_refunds",
                  "ledger_invoice_lines", "ledger_usage_claims", "ledger_invoices",
                  "ledger_entries", "ledger_transactions", "ledger_accounts", "ledger_periods",
                  "ledger_payout_thresholds", "ledger_tax_rates", "ledger_price_plans"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
