"""A real process killed (SIGKILL) at each named crash point, then restarted: nothing lost,
nothing doubled — same balances, statements and transfers as a run that never crashed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from tracer.db import session
from tracer_registry.ledger.crashpoints import POINTS
from tracer_registry.ledger.payouts import FileRail
from tracer_registry.ledger.reports import reconciliation

from . import workload
from .conftest import REPO, fresh_database


def _driver(settings, point: str | None) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.ledger.crash_driver", str(settings.home),
            settings.platform_db_url] + ([point] if point else [])
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _kill_at(settings, point: str) -> None:
    process = _driver(settings, point)
    for line in process.stdout:
        if line.strip() == f"CRASHPOINT {point}":
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()


def _finish(settings) -> None:
    process = _driver(settings, None)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0 and out.strip().endswith("DONE"), err


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_crash_point_and_restarted_loses_and_doubles_nothing(ledger_db, tmp_path,
                                                                       point):
    _kill_at(ledger_db, point)
    _finish(ledger_db)
    rail = FileRail(ledger_db.home / "rail.jsonl")
    crashed = workload.snapshot(ledger_db, rail)
    with session(ledger_db) as s:
        report = reconciliation(s)
    assert report["nets_to_zero"] and report["balances_match"]
    with fresh_database(ledger_db, tmp_path / "ref") as other:
        reference_rail = FileRail(other.home / "rail.jsonl")
        workload.play(other, reference_rail)
        expected = workload.snapshot(other, reference_rail)
    assert crashed == expected
    payouts = [p for p, _ in crashed["transfers"]]
    assert len(payouts) == len(set(payouts)) == 4
