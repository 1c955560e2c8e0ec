"""Run the ledger workload in its own process, optionally with one crash point armed.

    python -m tests.ledger.crash_driver <home> <database-url> [crash-point]

The test kills this process (SIGKILL) when it prints ``CRASHPOINT <name>``, then runs it
again without a crash point: the restart replays everything, as a producer would.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tracer.settings import Settings
from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.payouts import FileRail

from . import workload


def main(home: str, url: str, point: str | None = None) -> None:
    if point:
        crashpoints.arm(point)
    settings = Settings(home=Path(home), database_url=url)
    workload.play(settings, FileRail(Path(home) / "rail.jsonl"))
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
