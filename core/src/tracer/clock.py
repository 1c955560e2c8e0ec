"""The platform clock: the one "now" that judges which periods are past.

``settings.clock`` (``TRACER_CLOCK``) pins or offsets it, so an operator can rehearse a
month-end and tests can run two periods without waiting:

- unset: the real UTC time;
- an ISO 8601 instant (``2026-06-01T00:00:00Z``): pinned there;
- an offset (``+31d``, ``-2h``, ``+90m``, ``+30s``): the real time moved by that much.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tracer.errors import ValidationError

if TYPE_CHECKING:
    from tracer.settings import Settings

_OFFSET = re.compile(r"^([+-])(\d{1,6})([dhms])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse(text: str | None) -> datetime | timedelta | None:
    """What a clock setting means: None (real time), a pinned instant, or an offset."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    match = _OFFSET.match(text)
    if match:
        sign, number, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: int(number)})
        return -delta if sign == "-" else delta
    try:
        pinned = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"clock {text!r}: use an ISO 8601 instant such as "
                              "2026-06-01T00:00:00Z or an offset such as +31d, -2h",
                              field="clock") from None
    if pinned.tzinfo is None:
        raise ValidationError(f"clock {text!r}: give the instant a timezone (e.g. Z)",
                              field="clock")
    return pinned.astimezone(UTC)


def now(settings: Settings | None = None) -> datetime:
    """The platform's current time (timezone-aware UTC)."""
    setting = parse(getattr(settings, "clock", None))
    real = datetime.now(UTC)
    if setting is None:
        return real
    if isinstance(setting, timedelta):
        return real + setting
    return setting
