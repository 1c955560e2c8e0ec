"""Rate limits that hold across API workers: per-key call counts in the platform database.

Each key's calls are counted per minute window (one row per key and window); a call is
allowed while the sliding estimate ``previous × (1 − elapsed) + current`` stays below the
limit (the sliding-window counter: exact at window edges, within the previous window's
share otherwise). The check and the count are one short transaction that locks the key's
rows (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite), so N workers sharing one
database allow ``limit`` calls a minute in all, not ``limit`` each.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from tracer.db import session
from tracer.models import CallWindow

if TYPE_CHECKING:
    from tracer.settings import Settings

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Refusal:
    limit: int
    retry_after: float  # seconds until a call would be allowed


def take(settings: Settings, key_id: str, limit: int, now: float | None = None
         ) -> Refusal | None:
    """Count one call of ``key_id``; or, over ``limit``, count nothing and say how long to
    wait."""
    now = time.time() if now is None else now
    window, elapsed = divmod(now, WINDOW_SECONDS)
    current, fraction = int(window), elapsed / WINDOW_SECONDS
    with session(settings, write=True) as s:
        _ensure(s, key_id, current)
        rows = {r.window: r for r in s.scalars(
            select(CallWindow).where(CallWindow.key_id == key_id,
                                     CallWindow.window.in_((current - 1, current)))
            .with_for_update())}
        mine, before = rows[current], rows.get(current - 1)
        previous = before.calls if before is not None else 0
        if previous * (1 - fraction) + mine.calls >= limit:
            return Refusal(limit, _wait(previous, mine.calls, fraction, limit))
        mine.calls += 1
        if mine.calls == 1:  # the first call of a window: drop this key's older windows
            s.execute(delete(CallWindow).where(CallWindow.key_id == key_id,
                                               CallWindow.window < current - 1))
    return None


def _ensure(s: object, key_id: str, window: int) -> None:
    """The (key, window) row exists (concurrent workers may both insert it)."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    from sqlalchemy.dialects import postgresql, sqlite

    values = {"key_id": key_id, "window": window, "calls": 0}
    if s.get_bind().dialect.name == "postgresql":
        s.execute(postgresql.insert(CallWindow).values(**values).on_conflict_do_nothing())
    else:
        s.execute(sqlite.insert(CallWindow).values(**values).on_conflict_do_nothing())


def _wait(previous: int, current: int, fraction: float, limit: int) -> float:
    """Seconds until ``previous × (1 − f) + current < limit`` with no further calls."""
    if current < limit and previous > 0:
        need = 1 - (limit - current) / previous  # the fraction where it falls below
        return max(0.0, need - fraction) * WINDOW_SECONDS + 0.001
    # in the next window the current count is the previous one, and nothing is current
    later = max(0.0, 1 - limit / current) if current else 0.0
    return (1 - fraction) * WINDOW_SECONDS + later * WINDOW_SECONDS + 0.001


def seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
