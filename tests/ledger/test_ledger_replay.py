"""The same events replayed shuffled, duplicated, from 16 concurrent writers and through the
bulk import (4 writers, overlapping chunks): identical balances, statements and transfers."""

from __future__ import annotations

import pytest
from tracer.db import session
from tracer_registry.ledger.payouts import FileRail
from tracer_registry.ledger.reports import reconciliation

from . import workload
from .conftest import fresh_database


def _run(settings, tmp_path, **how) -> dict:
    rail = FileRail(tmp_path / "rail.jsonl")
    workload.play(settings, rail, **how)
    with session(settings) as s:
        report = reconciliation(s)
    assert report["nets_to_zero"] and report["balances_match"], report
    return workload.snapshot(settings, rail)


def test_in_order_run_pays_publishers_and_claims_every_event(ledger_db, tmp_path):
    state = _run(ledger_db, tmp_path)
    assert state["claims"] == len(workload.PHASE_ONE) + len(workload.PHASE_TWO)
    assert [p for p, _ in state["transfers"]] == ["acme/USD/1", "acme/USD/2", "blue/USD/1",
                                                  "blue/USD/2"]
    assert sum(state["balances"][k] for k in state["balances"]
               if k.startswith("publisher_payable")) >= 0


@pytest.mark.parametrize("how", [
    {"seed": 7}, {"seed": 8, "duplicate": True}, {"seed": 9, "duplicate": True, "writers": 16},
    {"seed": 10, "duplicate": True, "bulk": True},
    {"seed": 11, "duplicate": True, "writers": 4, "bulk": True},
], ids=["shuffled", "shuffled-duplicated", "16-writers", "bulk-shuffled-duplicated",
        "bulk-4-writers"])
def test_replays_end_in_identical_balances(ledger_db, tmp_path, how):
    replayed = _run(ledger_db, tmp_path, **how)
    # the reference: same database engine, fresh database, in order, one writer
    with fresh_database(ledger_db, tmp_path / "ref") as other:
        expected = _run(other, tmp_path / "ref")
    assert replayed == expected
