"""The commission ledger: usage → invoice lines → 70/30 split → statements → payouts.

Rules: ``docs/ledger.md``. The pieces, each a small module:

- ``money``        integer money, the one versioned split, cumulative refund arithmetic
- ``models``       tables (append-only entries; migrations in ``migrations/``)
- ``postings``     balanced, idempotent posting; accounts and stored balances
- ``periods``      monthly periods, closed in order; late postings roll forward
- ``plans``        price plans (agreements) of third-party listings, tax, thresholds
- ``rating``       a tenant's usage in a period → priced, rounded, split, posted lines
- ``adjustments``  refunds, chargebacks and reversals, credits, adjustments, FX
- ``closing``      rate everyone, freeze statements, mark the period closed
- ``statements``   frozen publisher statements with a content hash
- ``payouts``      thresholds, carry-forward, the payout rail, failed-payout re-credit
- ``reports``      platform commission/revenue report, reconciliation
- ``exports``      a statement as CSV, JSON and an HTML page with its chart
- ``plugin``       the hooks: migrations, ``tracer payouts …``, API routes, demo step
"""

from pathlib import Path

from tracer.hookspecs import MigrationTree

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_ledger"


def migration_tree() -> MigrationTree:
    return {"script_location": str(MIGRATIONS), "version_table": VERSION_TABLE}
