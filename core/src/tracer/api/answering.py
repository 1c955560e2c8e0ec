"""The one prediction service: validate, score, store, charge and meter, for every caller.

The REST route and the MCP tools both call :meth:`PredictionService.answer`; neither has
its own copy of a rule. One request goes:

1. the domain must be installed and enabled for the tenant (a recent positive check is
   remembered for ``api.auth_cache_seconds``; the writer checks again, exactly, below);
2. a retried ``Idempotency-Key`` is answered from the stored first answer, before any work;
3. records are validated against the domain schema (errors name the record and field);
4. the tenant's champion scores and explains them (small batches of in-process domains on
   the event loop, where a thread hop would cost more than the work; large batches and
   confined third-party domains on a worker thread);
5. the answers, their usage event, the allowance counter and the key are handed to the
   group-commit writer (:mod:`tracer.api.group_commit`) and the answer is released only
   once they are durable.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from starlette.concurrency import run_in_threadpool

from tracer.api.group_commit import Committed, GroupWriter, PredictionWrite
from tracer.api.idempotency import check_key, replay, request_hash
from tracer.api.telemetry import predicted
from tracer.db import session, utcnow
from tracer.domain import Domain
from tracer.errors import LimitError, ValidationError
from tracer.installs import require_enabled
from tracer.records import as_dicts, validate_rows

if TYPE_CHECKING:
    from tracer.api.deps import Platform

#: Up to this many records are scored on the event loop; larger batches on a worker thread.
#: Every batch is validated the same way, record by record (about 10 µs a record).
PER_RECORD_LIMIT = 64


@dataclass(frozen=True)
class Ask:
    """One prediction request, as the REST route or an MCP tool received it."""

    tenant_id: str
    domain: str
    items: list[Any]
    single: bool  # one ``record`` (errors say "record") rather than a batch
    explain: bool = True
    top: int = 5
    key: str | None = None  # Idempotency-Key


class PredictionService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.writer = GroupWriter(platform.settings)
        self._enabled: dict[tuple[str, str], float] = {}

    async def answer(self, ask: Ask) -> Committed:
        p = self.platform
        domain = p.host.domain(ask.domain)
        key = check_key(ask.key)
        route = f"predict {domain.name}"
        digest = request_hash(route, [_body(ask), ask.explain, ask.top]) if key else ""
        if key is not None or not self._recently_enabled(ask.tenant_id, domain.name):
            with session(p.settings) as s:
                require_enabled(s, ask.tenant_id, domain.name)
                stored = replay(s, ask.tenant_id, key, route, digest)
                if stored is not None:
                    return Committed(stored.status_code, stored.response, None)
            self._enabled[(ask.tenant_id, domain.name)] = (time.monotonic()
                                                          + p.settings.api.auth_cache_seconds)
        items = records_of(ask.items, p.settings.api.max_batch_rows)
        if len(items) <= PER_RECORD_LIMIT and not p.host.confined(domain):
            write = self._score(ask, domain, items)
        else:
            write = await run_in_threadpool(self._score, ask, domain, items)
        write.key, write.route, write.digest = key, route, digest
        committed = await asyncio.wrap_future(self.writer.submit(write))
        if committed.usage is not None:
            predicted(ask.tenant_id, domain.name, write.attrs["version"], len(write.rows))
        return committed

    def forget(self, tenant_id: str, domain: str) -> None:
        """A disable in this process: the next request checks the database again."""
        self._enabled.pop((tenant_id, domain), None)

    def _recently_enabled(self, tenant_id: str, domain: str) -> bool:
        until = self._enabled.get((tenant_id, domain))
        return until is not None and until > time.monotonic()

    def _score(self, ask: Ask, domain: Domain, items: list[dict[str, Any]]) -> PredictionWrite:
        records = validated(domain, items, ask.single)
        scorer = self.platform.champions.scorer(domain, ask.tenant_id)
        raw = as_dicts(records)  # once: the scorer's records and the stored ones
        answers = scorer.score(records, explain=ask.explain, top=ask.top, raw=raw)
        now, request_id = utcnow(), str(uuid.uuid4())
        rows = []
        for answer, record in zip(answers, raw, strict=True):
            answer["prediction_id"] = pid = str(uuid.uuid4())
            rows.append({"id": pid, "tenant_id": ask.tenant_id, "domain": domain.name,
                         "model_name": scorer.name, "model_version": scorer.version,
                         "probability": answer["probability"], "label": answer["label"],
                         "threshold": answer["threshold"], "record": dict(record),
                         "created_at": now})
        return PredictionWrite(
            tenant_id=ask.tenant_id, domain=domain.name, rows=rows,
            usage_id=f"prediction:{ask.tenant_id}:{ask.key or request_id}", occurred_at=now,
            attrs={"model": scorer.name, "version": scorer.version},
            response={"predictions": answers, "count": len(answers)})


def _body(ask: Ask) -> dict[str, Any]:
    """The request body as the client sent it (what an Idempotency-Key stands for)."""
    if ask.single:
        return {"record": ask.items[0] if ask.items else None, "records": None}
    return {"record": None, "records": ask.items}


def records_of(items: list[Any], max_rows: int) -> list[dict[str, Any]]:
    if not items:
        raise ValidationError("records: the batch is empty", field="records")
    if len(items) > max_rows:
        raise LimitError(f"records: {len(items):,} records in one request; the batch limit "
                         f"is {max_rows:,} (setting api.max_batch_rows)", limit=max_rows,
                         setting="api.max_batch_rows")
    return items


def validated(domain: Domain, items: list[Any], single: bool) -> pd.DataFrame:
    """Records checked against the domain schema, one validation whatever the batch size
    (:func:`tracer.records.validate_rows`); errors name the record index and field."""
    return validate_rows(domain, items, single=single)
