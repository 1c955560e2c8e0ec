"""Rate limits in the database (tracer.ratelimit): the sliding-window counter, and one limit
for every process sharing the database."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.api.conftest import settings  # noqa: F401 -- SQLite and PostgreSQL


@pytest.fixture
def migrated(settings):  # noqa: F811
    from tracer import db

    db.upgrade(settings)
    return settings


def test_the_sliding_window_counts_the_previous_minute_by_its_share(migrated):
    from tracer.ratelimit import take

    t0 = 1_800_000_000 - 1_800_000_000 % 60  # a window's first second
    assert [take(migrated, "k", 3, t0 + i) for i in range(3)] == [None, None, None]
    refused = take(migrated, "k", 3, t0 + 10)
    assert refused is not None and 50 < refused.retry_after <= 51  # at the next window
    assert take(migrated, "other", 3, t0 + 10) is None  # another key: its own budget
    # half-way into the next minute the previous three weigh 1.5: two more calls fit
    assert take(migrated, "k", 3, t0 + 90) is None  # 1.5 + 0 < 3
    assert take(migrated, "k", 3, t0 + 91) is None  # 3 * 29/60 + 1 = 2.45 < 3
    again = take(migrated, "k", 3, t0 + 92)  # 3 * 28/60 + 2 = 3.4
    assert again is not None and 0 < again.retry_after < 60
    assert take(migrated, "k", 3, t0 + 92 + again.retry_after - 1) is not None
    assert take(migrated, "k", 3, t0 + 92 + again.retry_after) is None


def _hammer(url: str, home: str, at: float, calls: int, out) -> None:
    from tracer.ratelimit import take
    from tracer.settings import Settings

    shared = Settings(home=home, database_url=url)
    out.put(sum(take(shared, "shared", 7, at) is None for _ in range(calls)))


def test_processes_sharing_the_database_share_one_limit(migrated):
    t0 = 1_800_000_000 - 1_800_000_000 % 60
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_hammer, args=(migrated.platform_db_url,
                                                      str(migrated.home), t0 + 5, 10, out))
               for _ in range(3)]
    for w in workers:
        w.start()
    allowed = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(allowed) == 7, allowed
