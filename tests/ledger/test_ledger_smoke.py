from tracer.db import session
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.reports import reconciliation

from .marketplace import open_market, use


def test_smoke(ledger_db):
    open_market(ledger_db)
    use(ledger_db, "e1", "globex", "prediction", "acme.churn", quantity=1001)
    use(ledger_db, "e2", "globex", "install", "acme.churn")
    use(ledger_db, "e3", "globex", "subscription")
    r = close_period(ledger_db, "2026-05", caused_by="test")
    assert r.tenants_rated == 1 and r.statements == 1
    with session(ledger_db) as s:
        rec = reconciliation(s)
    assert rec["nets_to_zero"] and rec["balances_match"] and rec["every_account_holds"], rec
