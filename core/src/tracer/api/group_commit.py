"""Group commit: concurrent predictions are made durable together, each answered after.

A prediction's writes (its stored rows, its usage event, the month's allowance counter and
its ``Idempotency-Key``) are handed to the process's one writer thread; the request waits
for them. The writer takes everything that has queued and commits it in ONE transaction,
then releases each waiting request. A lone request is committed at once (nothing waits for
company); under load, the requests that arrive while a commit is in flight form the next
group, and once requests come together the writer waits up to ``LINGER_SECONDS`` for more,
so commits per second stay bounded by the disk while answers per second grow.

Each write is checked before anything of it is written (key already used, domain disabled,
allowance exhausted): a refused write leaves no trace and its request gets the error, the
rest of the group commits. If the group's transaction itself fails (another process
committed the same key first, a lock timeout), each write is retried alone, so one
request's failure is never another's. Nothing is acknowledged before its commit returns:
a killed server loses only answers it never sent.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

from tracer.api.idempotency import replay
from tracer.api.metering import usage_dict
from tracer.db import connection
from tracer.errors import ConflictError, TracerError
from tracer.installs import enabled_tier
from tracer.models import IdempotentRequest, StoredPrediction
from tracer.quota import Allowances
from tracer.settings import Settings
from tracer.usage import record_usage_rows, usage_row

#: How long the writer waits for more writes once requests come together (the last group
#: had more than one): a group's fixed cost (transaction, checks, commit, fsync) is then
#: shared by more answers. A lone request never waits.
LINGER_SECONDS = 0.001


@dataclass
class PredictionWrite:
    """Everything one answered request must make durable before its answer leaves."""

    tenant_id: str
    domain: str
    rows: list[dict[str, Any]]  # StoredPrediction rows, one per answered record
    usage_id: str
    occurred_at: datetime
    attrs: dict[str, Any]  # usage attributes; the writer adds "overage"
    response: dict[str, Any]  # the answer; the writer adds "overage"
    key: str | None = None  # Idempotency-Key, when the client sent one
    route: str = ""
    digest: str = ""
    future: Future[Committed] = field(default_factory=Future)


@dataclass(frozen=True)
class Committed:
    status_code: int
    response: dict[str, Any]
    usage: dict[str, Any] | None  # the new usage event (None when the answer is a replay)


class GroupWriter:
    """The process's writer thread for predictions (started lazily, a daemon)."""

    def __init__(self, settings: Settings, max_group: int = 256) -> None:
        self.settings, self.max_group = settings, max_group
        self._queue: queue.SimpleQueue[PredictionWrite] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.groups = self.writes = 0  # counters for benchmarks and tests
        self.linger = LINGER_SECONDS

    def submit(self, write: PredictionWrite) -> Future[Committed]:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="tracer-group-commit")
                    self._thread.start()
        self._queue.put(write)
        return write.future

    def write(self, write: PredictionWrite) -> Committed:
        """Submit and wait (for callers that are not on an event loop)."""
        return self.submit(write).result()

    def _run(self) -> None:
        together = False  # whether the last group had company
        while True:
            group = [self._queue.get()]
            deadline = time.monotonic() + self.linger if together else 0.0
            while len(group) < self.max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        group.append(self._queue.get(timeout=left))
                    except queue.Empty:
                        break
            together = len(group) > 1
            self.commit(group)

    def commit(self, group: list[PredictionWrite]) -> None:
        """Commit ``group`` in one transaction, or each write alone if that fails."""
        self.groups += 1
        self.writes += len(group)
        try:
            with connection(self.settings, write=True) as c:
                outcomes = _apply(c, self.settings, group)
        except Exception:  # noqa: BLE001 -- retried one by one below, each with its own error
            if len(group) == 1:
                _resolve(group[0], _apply_alone(self.settings, group[0]))
                return
            for write in group:
                _resolve(write, _apply_alone(self.settings, write))
            return
        for write, outcome in zip(group, outcomes, strict=True):
            _resolve(write, outcome)


def _resolve(write: PredictionWrite, outcome: Committed | BaseException | _SameAs) -> None:
    if isinstance(outcome, _SameAs):  # a retry inside the same group: the first's answer
        first = outcome.first.future
        first.add_done_callback(lambda f: _copy(f, write))
        return
    if isinstance(outcome, BaseException):
        write.future.set_exception(outcome)
    else:
        write.future.set_result(outcome)


def _copy(source: Future[Committed], write: PredictionWrite) -> None:
    error = source.exception()
    if error is not None:
        write.future.set_exception(error)
    else:
        result = source.result()
        write.future.set_result(Committed(result.status_code, result.response, None))


@dataclass(frozen=True)
class _SameAs:
    first: PredictionWrite


def _apply_alone(settings: Settings, write: PredictionWrite) -> Committed | BaseException:
    try:
        with connection(settings, write=True) as c:
            outcome = _apply(c, settings, [write])[0]
    except Exception as exc:  # noqa: BLE001 -- this request's own failure, given to it
        if write.key is not None:  # a concurrent retry in another process committed first
            try:
                with connection(settings) as s:
                    stored = replay(s, write.tenant_id, write.key, write.route, write.digest)
            except Exception as again:  # noqa: BLE001 -- e.g. the key's 409
                return again
            if stored is not None:
                return Committed(stored.status_code, stored.response, None)
        return exc
    if isinstance(outcome, _SameAs):  # pragma: no cover - a group of one has no peers
        raise AssertionError("a write alone cannot repeat another")
    return outcome


def _apply(c: Connection, settings: Settings, group: list[PredictionWrite]
           ) -> list[Committed | BaseException | _SameAs]:
    """Check every write, then write what passed, in the caller's transaction.

    A check that fails refuses that write alone (nothing of it was written yet); a failure
    while writing propagates, so the caller rolls the whole group back and retries each
    write alone. The writes of a group go out together: one lookup per tenant and install,
    one per month counter, one statement per table; plain SQL statements built once (an
    ORM session's unit of work cost more than the database's own work on a one-row answer).
    """
    checks = _Checks(c, settings)
    outcomes: list[Committed | BaseException | _SameAs] = []
    passed: list[tuple[int, PredictionWrite, int]] = []
    for write in group:
        try:
            checked = checks.check(write)
        except TracerError as exc:
            outcomes.append(exc)
            continue
        if not isinstance(checked, int):
            outcomes.append(checked)
            continue
        passed.append((len(outcomes), write, checked))
        outcomes.append(_SameAs(write))  # replaced below, once written
    events = [usage_row(
        write.usage_id, tenant_id=write.tenant_id, kind="prediction", domain=write.domain,
        quantity=len(write.rows), occurred_at=write.occurred_at,
        attrs={**write.attrs, "overage": overage}) for _, write, overage in passed]
    # raises on a conflicting id (the group is then retried alone); ids without a key hold a
    # new UUID, and only keyed ones are looked up
    record_usage_rows(c, events, fresh={w.usage_id for _, w, _ in passed if w.key is None})
    keys: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for (index, write, overage), event in zip(passed, events, strict=True):
        response = {**write.response, "overage": overage}
        if write.key is not None:
            keys.append({"tenant_id": write.tenant_id, "key": write.key, "route": write.route,
                         "request_hash": write.digest, "status_code": 200,
                         "response": response})
        rows.extend(write.rows)
        outcomes[index] = Committed(200, response, usage_dict(event))
    checks.allowances.write()
    if keys:
        c.execute(_INSERT_KEYS, keys)
    if rows:
        c.execute(_INSERT_PREDICTIONS, rows)
    return outcomes


_INSERT_KEYS = insert(cast("Table", IdempotentRequest.__table__))
_INSERT_PREDICTIONS = insert(cast("Table", StoredPrediction.__table__))


class _Checks:
    """The checks of one group, each tenant with its install, and each month counter, read
    once."""

    def __init__(self, c: Connection, settings: Settings) -> None:
        self.c, self.settings = c, settings
        self.allowances = Allowances(c)
        self.claimed: dict[tuple[str, str], PredictionWrite] = {}
        self._tiers: dict[tuple[str, str], str | TracerError] = {}

    def check(self, write: PredictionWrite) -> int | Committed | _SameAs:
        """The write's overage if it may proceed (its allowance is charged), or its answer
        if it repeats a committed or grouped request; raises the refusal otherwise."""
        if write.key is not None:
            first = self.claimed.get((write.tenant_id, write.key))
            if first is not None:
                if (first.route, first.digest) != (write.route, write.digest):
                    raise ConflictError("this Idempotency-Key was used with a different "
                                        "request; use a new key for a new request",
                                        field="Idempotency-Key")
                return _SameAs(first)
            stored = replay(self.c, write.tenant_id, write.key, write.route, write.digest)
            if stored is not None:
                return Committed(stored.status_code, stored.response, None)
        tier = self._tier(write.tenant_id, write.domain)
        # raises before counting when the allowance is exhausted: then nothing was written
        overage = self.allowances.charge(write.tenant_id, tier, self.settings.tiers[tier],
                                         len(write.rows), write.occurred_at)
        if write.key is not None:
            self.claimed[(write.tenant_id, write.key)] = write
        return overage

    def _tier(self, tenant_id: str, domain: str) -> str:
        """The tenant's tier when the domain is enabled for it: exact (a disable applies at
        once), one statement per tenant and domain and group."""
        found = self._tiers.get((tenant_id, domain))
        if found is None:
            try:
                found = enabled_tier(self.c, tenant_id, domain)
            except TracerError as exc:
                found = exc
            self._tiers[(tenant_id, domain)] = found
        if isinstance(found, TracerError):
            raise found
        return found


__all__ = ["Committed", "GroupWriter", "PredictionWrite"]
