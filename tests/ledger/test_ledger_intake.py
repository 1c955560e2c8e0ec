"""Bulk usage intake (``ingest_many``) on SQLite and PostgreSQL: idempotent by the
producer's event id exactly like ``record_usage``, chunk by chunk atomic, refusing bad input
and changed payloads without writing anything of the refused chunk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from tracer.db import session
from tracer.errors import ConflictError, NotFoundError, ValidationError
from tracer.models import UsageEvent
from tracer.usage import payload_hash, record_usage
from tracer_registry.ledger.intake import digest, ingest, ingest_bulk, ingest_many

from .bulk_driver import START, events
from .conftest import REPO
from .workload import setup


def stored(settings) -> dict[str, tuple]:
    with session(settings) as s:
        return {r.id: (r.tenant_id, r.kind, r.domain, r.quantity, r.occurred_at, r.payload_hash,
                       r.attrs) for r in s.scalars(select(UsageEvent))}


def count(settings) -> int:
    with session(settings) as s:
        return s.scalar(select(func.count()).select_from(UsageEvent))


@pytest.fixture
def market(ledger_db):
    setup(ledger_db)
    return ledger_db


def test_bulk_import_records_each_event_once_with_core_payload_hash(market):
    batch = events(1_000)
    assert ingest_many(market, batch, chunk=128) == 1_000
    assert ingest_many(market, list(reversed(batch)), chunk=300) == 0  # replay: no-op
    rows = stored(market)
    assert len(rows) == 1_000
    for e in batch[:50] + batch[-50:]:
        tenant, kind, domain, quantity, at, digest_, attrs = rows[e["id"]]
        assert (tenant, kind, domain, quantity, attrs) == (e["tenant_id"], e["kind"],
                                                          e["domain"], e["quantity"],
                                                          e["attrs"])
        assert at.replace(tzinfo=None) == e["occurred_at"].replace(tzinfo=None)
        assert digest_ == payload_hash(e["tenant_id"], e["kind"], e["domain"], e["quantity"],
                                       e["attrs"], e["occurred_at"])


def test_bulk_replay_of_events_recorded_one_by_one_is_a_no_op(market):
    batch = events(40)
    for e in batch[:25]:
        ingest(market, e)
    with session(market) as s:  # the platform's own metering path
        record_usage(s, "api-1", tenant_id="globex", kind="install", domain="acme.churn",
                     occurred_at=START, attrs={"plan": "monthly", "seats": 3})
    before = stored(market)
    api_event = {"id": "api-1", "tenant_id": "globex", "kind": "install",
                 "domain": "acme.churn", "occurred_at": START,
                 "attrs": {"seats": 3, "plan": "monthly"}}
    assert ingest_many(market, batch + [api_event], chunk=8) == 15
    after = stored(market)
    assert len(after) == 41 and {k: after[k] for k in before} == before


def test_changed_payload_refuses_its_chunk_and_keeps_earlier_chunks(market):
    batch = events(30)
    ingest_many(market, batch[:10])
    changed = dict(batch[5], quantity=batch[5]["quantity"] + 1)
    # written in id order, 7 a chunk: [bulk-10 … 16] [bulk-17 … 23] [bulk-24 … 29, bulk-5]
    with pytest.raises(ConflictError, match="usage event bulk-5 was already recorded"):
        ingest_many(market, batch[10:30] + [changed], chunk=7)
    rows = stored(market)
    assert sorted(rows) == sorted([f"bulk-{i}" for i in range(24)])
    assert rows["bulk-5"][3] == batch[5]["quantity"]


def test_bulk_intake_in_a_callers_transaction_commits_or_rolls_back_with_it(market):
    batch = events(20)
    with pytest.raises(RuntimeError), session(market) as s:
        assert ingest_bulk(s, batch[:10]) == 10
        raise RuntimeError("the caller's own write failed")
    assert count(market) == 0
    with session(market) as s:
        assert ingest_bulk(s, batch[:10]) == 10
        assert ingest_bulk(s, batch) == 10  # same transaction: the first ten are there
    assert count(market) == 20


def test_same_id_twice_in_one_import_is_kept_once_or_refused_when_it_differs(market):
    e = events(1)[0]
    assert ingest_many(market, [e, dict(e), dict(e)]) == 1
    assert count(market) == 1
    other = events(2)[1]
    with pytest.raises(ConflictError, match="bulk-1 appears twice in the input"):
        ingest_many(market, [other, dict(other, quantity=99), other])
    assert count(market) == 1


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"kind": "lunch"}, ValidationError, "bulk-3: kind must be one of"),
    ({"quantity": -2}, ValidationError, "bulk-3: quantity must be a whole number"),
    ({"quantity": 2.5}, ValidationError, "bulk-3: quantity must be a whole number"),
    ({"occurred_at": datetime(2026, 5, 1)}, ValidationError, "bulk-3: occurred_at"),
    ({"tenant_id": "nobody"}, NotFoundError, "bulk-3: tenant 'nobody' does not exist"),
    ({"id": ""}, ValidationError, "id must be a string"),
], ids=["kind", "negative", "fraction", "naive-time", "tenant", "empty-id"])
def test_bad_event_is_refused_by_name_and_nothing_is_written(market, change, error, message):
    batch = events(6)
    batch[3] = dict(batch[3], **change)
    with pytest.raises(error, match=message):
        ingest_many(market, batch, chunk=100)
    assert count(market) == 0


def test_concurrent_bulk_writers_insert_every_event_exactly_once(market):
    batch = events(600)
    slices = [batch[i * 100:i * 100 + 250] for i in range(4)]  # each overlaps the next
    with ThreadPoolExecutor(4) as pool:
        inserted = list(pool.map(lambda part: ingest_many(market, part, chunk=40), slices))
    assert sum(inserted) == 550 == count(market)


def test_import_killed_mid_way_then_replayed_loses_and_doubles_nothing(market):
    args = [sys.executable, "-m", "tests.ledger.bulk_driver", str(market.home),
            market.platform_db_url, "3000", "500"]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("CHUNK"):  # chunk one acknowledged: kill while writing chunk two
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    survived = count(market)
    assert survived % 500 == 0 and 500 <= survived <= 3000  # whole chunks only
    again = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == f"DONE {3000 - survived}"
    assert count(market) == 3000


text = st.text(st.characters(codec="utf-8"), max_size=40)


@given(tenant=text, kind=text, domain=st.none() | text,
       quantity=st.integers(-10**20, 10**20), at=st.datetimes(timezones=st.timezones()))
def test_fast_digest_is_core_payload_hash_byte_for_byte(tenant, kind, domain, quantity, at):
    assert digest(tenant, kind, domain, quantity, {}, at) == payload_hash(
        tenant, kind, domain, quantity, {}, at)
    attrs = {"k": kind, "n": quantity}
    assert digest(tenant, kind, domain, quantity, attrs, at) == payload_hash(
        tenant, kind, domain, quantity, attrs, at)


def test_payload_hash_covers_occurred_at(market):
    """The same id with another time is a different event: refused, not a duplicate."""
    at = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    event = {"id": "moved-1", "tenant_id": "globex", "kind": "prediction",
             "domain": "acme.churn", "quantity": 3, "occurred_at": at}
    assert ingest(market, event) is True
    assert ingest(market, event) is False
    with pytest.raises(ConflictError, match="different payload"):
        ingest(market, {**event, "occurred_at": at + timedelta(microseconds=1)})
    with pytest.raises(ConflictError, match="different payload"):
        ingest_many(market, [{**event, "occurred_at": at + timedelta(days=31)}])
