"""Named crash points: where a process may die mid-way through moving money.

The crash tests run the ledger in a real subprocess with one point armed; when the code
reaches it, it says so on stdout and waits to be killed (SIGKILL) by the test, which then
restarts the work and checks that nothing was lost and nothing doubled.
"""

from __future__ import annotations

import sys
import time

POINTS = (
    "ingest.after_commit_before_ack",  # usage committed, producer never got its answer
    "close.mid_rating",  # some tenants' invoice lines posted, others not yet
    "close.after_rating_before_statements",  # all lines posted, statements not frozen
    "payout.after_debit_before_send",  # payable debited, transfer not handed to the rail
    "payout.after_send_before_settle",  # rail has the transfer, the ledger does not know
)

_armed: set[str] = set()


def arm(name: str) -> None:
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r} (known: {', '.join(POINTS)})")
    _armed.add(name)


def reached(name: str) -> None:
    if name in _armed:
        print(f"CRASHPOINT {name}", flush=True)
        sys.stdout.flush()
        while True:  # the test kills us here
            time.sleep(60)
