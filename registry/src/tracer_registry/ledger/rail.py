"""The payout rail: an append-only transfer file (a bank batch), idempotent by payout id.

A transfer the rail already has is never written twice, so handing it the same payouts
again after a crash is a no-op. A batch of transfers is one lock, one read of what the
file holds, one append and one fsync.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracer.settings import Settings

    from tracer_registry.ledger.models import Payout


class FileRail:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings: Settings) -> FileRail:
        return cls(settings.home / "payouts" / "transfers.jsonl")

    def transfers(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def send(self, payout: Payout) -> bool:
        """Hand a transfer to the rail; False when the rail already has it."""
        return self.send_many([payout]) == 1

    def send_many(self, payouts: Sequence[Payout]) -> int:
        """Hand transfers to the rail; returns how many it did not have yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            have = {json.loads(line)["payout"] for line in handle if line.strip()}
            fresh = []
            for payout in payouts:
                if payout.id in have:
                    continue
                have.add(payout.id)
                fresh.append(json.dumps({"payout": payout.id, "publisher": payout.publisher_id,
                                         "currency": payout.currency,
                                         "amount": payout.amount}) + "\n")
            if fresh:
                handle.write("".join(fresh))
                handle.flush()
                os.fsync(handle.fileno())
            return len(fresh)
