"""The ledger's error: a money rule that would be broken is a conflict (409) with the
ledger's state, never a partial write (``tracer.errors.ConflictError`` is its kind)."""

from __future__ import annotations

from tracer.errors import ConflictError

__all__ = ["LedgerError"]


class LedgerError(ConflictError):
    status, title, slug = 409, "Ledger error", "ledger"
