"""Limits of tool calls: a per-key rate limit, and the moment an exhausted limit resets.

Agents call in bursts, so each API key may make ``api.mcp_calls_per_minute`` tool calls in any
sliding minute, counted in the platform database so that the limit holds across every
API worker (:mod:`tracer.ratelimit`). The monthly prediction allowance is the
tier's, charged by the prediction service exactly as for REST; a tool error for either says
which limit was hit and when it resets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tracer.errors import QuotaError, TracerError

if TYPE_CHECKING:
    from tracer.settings import Settings

WINDOW_SECONDS = 60


class CallLimiter:
    """``api.mcp_calls_per_minute`` per API key, counted in the platform database
    (:mod:`tracer.ratelimit`): every worker sharing it enforces the one limit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check(self, key_id: str) -> None:
        """Count one call of ``key_id``, or raise ``QuotaError`` saying when one is allowed."""
        from tracer.ratelimit import seconds, take

        limit = self.settings.api.mcp_calls_per_minute
        refused = take(self.settings, key_id, limit)
        if refused is None:
            return
        wait = seconds(refused.retry_after)
        at = datetime.now(UTC) + timedelta(seconds=refused.retry_after)
        raise QuotaError(
            f"rate limit: {limit:,} tool calls a minute per API key (setting "
            f"api.mcp_calls_per_minute); the next call is allowed in "
            f"{wait} s, at {at:%H:%M:%S} UTC", limit=limit,
            window_seconds=int(WINDOW_SECONDS), retry_after=wait,
            resets_at=at.isoformat(timespec="seconds"),
            setting="api.mcp_calls_per_minute")


def with_reset(exc: TracerError) -> TracerError:
    """A monthly allowance error with the moment it resets (the next month's first second)."""
    period = exc.details.get("period") if isinstance(exc, QuotaError) else None
    if not period or "resets_at" in exc.details:
        return exc
    year, month = (int(part) for part in period.split("-"))
    resets = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return QuotaError(f"{exc.message}; the allowance resets at {resets:%Y-%m-%d %H:%M} UTC",
                      **exc.details, resets_at=resets.isoformat())
