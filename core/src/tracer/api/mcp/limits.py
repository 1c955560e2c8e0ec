"""Limits of tool calls: a per-key rate limit, and the moment an exhausted limit resets.

Agents call in bursts, so each API key may make ``mcp_calls_per_minute`` tool calls in any
sliding minute (counted in this server process). The monthly prediction allowance is the
tier's, charged by the prediction service exactly as for REST; a tool error for either says
which limit was hit and when it resets.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tracer.errors import QuotaError, TracerError

if TYPE_CHECKING:
    from tracer.settings import Settings

WINDOW_SECONDS = 60.0
_MAX_KEYS = 10_000


class CallLimiter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        """Count one call of ``key_id``, or raise ``QuotaError`` saying when one is allowed."""
        limit = self.settings.mcp_calls_per_minute
        now = time.monotonic()
        with self._lock:
            calls = self._calls.get(key_id)
            if calls is None:
                if len(self._calls) >= _MAX_KEYS:
                    self._forget_idle(now)
                calls = self._calls[key_id] = deque()
            while calls and calls[0] <= now - WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= limit:
                wait = calls[0] + WINDOW_SECONDS - now
                at = datetime.now(UTC) + timedelta(seconds=wait)
                raise QuotaError(
                    f"rate limit: {limit:,} tool calls a minute per API key (setting "
                    f"mcp_calls_per_minute); the next call is allowed in "
                    f"{math.ceil(wait)} s, at {at:%H:%M:%S} UTC", limit=limit,
                    window_seconds=int(WINDOW_SECONDS), retry_after=math.ceil(wait),
                    resets_at=at.isoformat(timespec="seconds"),
                    setting="mcp_calls_per_minute")
            calls.append(now)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, c in self._calls.items() if not c or c[-1] <= now - WINDOW_SECONDS]:
            del self._calls[key]


def with_reset(exc: TracerError) -> TracerError:
    """A monthly allowance error with the moment it resets (the next month's first second)."""
    period = exc.details.get("period") if isinstance(exc, QuotaError) else None
    if not period or "resets_at" in exc.details:
        return exc
    year, month = (int(part) for part in period.split("-"))
    resets = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return QuotaError(f"{exc.message}; the allowance resets at {resets:%Y-%m-%d %H:%M} UTC",
                      **exc.details, resets_at=resets.isoformat())
