"""Ledger benchmark: ingest, rate and split 1,000,000 usage events, close a period for
10,000 publishers, then run their payouts — on SQLite and (when a server is given) PostgreSQL.

    .venv/bin/python bench/ledger.py [--events 1000000] [--publishers 10000]
                                     [--postgres-url postgresql+psycopg://…] [--skip-payouts]

The PostgreSQL URL defaults to TRACER_TEST_POSTGRES_URL (``source .ci/postgres``); a fresh
database is created and dropped on that server. Baseline, measured in the same run on the
same engine: a bare executemany INSERT of the same rows into a scratch table with no
indexes, so the ledger's figure reads as a ratio of what the database can do at all.
Prints a table and writes bench/results/ledger.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy import insert as sql_insert
from sqlalchemy.engine import make_url

MAY = datetime(2026, 5, 1, tzinfo=UTC)
RESULTS = Path(__file__).resolve().parent / "results" / "ledger.md"


def events(n: int, tenants: int, publishers: int, seed: int = 11):
    rng = random.Random(seed)
    per_tenant = max(1, 2 * publishers // tenants)  # every listing used by about two tenants
    for i in range(n):
        t = rng.randrange(tenants)
        slot = (t * per_tenant + rng.randrange(per_tenant)) % publishers
        roll = rng.random()
        if roll < 0.02:
            kind, domain, qty = "install", f"pub{slot}.model", 1
        elif roll < 0.025:
            kind, domain, qty = "training_run", None, 1
        else:
            kind, domain, qty = "prediction", f"pub{slot}.model", rng.randint(1, 50)
        yield {"id": f"ev-{i}", "tenant_id": f"tenant-{t}", "kind": kind, "domain": domain,
               "quantity": qty, "attrs": {},
               "occurred_at": MAY + timedelta(seconds=rng.randrange(29 * 86_400))}


def baseline(settings, rows: list[dict]) -> float:
    engine = create_engine(settings.platform_db_url)
    meta = MetaData()
    scratch = Table(f"bench_scratch_{uuid.uuid4().hex[:8]}", meta, Column("id", String(128)),
                    Column("tenant_id", String(64)), Column("kind", String(32)),
                    Column("domain", String(128)), Column("quantity", Integer),
                    Column("occurred_at", DateTime(timezone=True)), Column("attrs", JSON))
    meta.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            conn.execute(sql_insert(scratch), rows[i:i + 50_000])
    seconds = time.perf_counter() - started
    meta.drop_all(engine)
    engine.dispose()
    return seconds


def run(label: str, settings, args) -> dict:
    from tracer import db
    from tracer.db import session
    from tracer.models import Tenant
    from tracer_registry.ledger import migration_tree
    from tracer_registry.ledger.closing import close_period
    from tracer_registry.ledger.intake import ingest_many
    from tracer_registry.ledger.models import PricePlanRow
    from tracer_registry.ledger.payouts import FileRail, run_payouts
    from tracer_registry.ledger.reports import reconciliation

    db.upgrade(settings, extra=[migration_tree()])
    now = datetime.now(UTC)
    with session(settings) as s:
        s.execute(sql_insert(Tenant), [{"id": f"tenant-{t}", "name": f"T{t}",
                                        "tier": "enterprise", "active": True, "created_at": now}
                                       for t in range(args.tenants)])
        s.execute(sql_insert(PricePlanRow), [
            {"domain": f"pub{p}.model", "publisher_id": f"pub{p}", "currency": "USD",
             "monthly_fee_minor": 2_000, "prediction_price_micros": 4_000,
             "commission_bps": 3_000, "rule_version": "split-v1", "updated_at": now}
            for p in range(args.publishers)])
    rows = list(events(args.events, args.tenants, args.publishers))
    base = baseline(settings, rows)
    figures = {"engine": label, "events": len(rows), "baseline_insert_s": base}

    started = time.perf_counter()
    figures["ingested"] = ingest_many(settings, rows, recorded_at=now)
    figures["ingest_s"] = time.perf_counter() - started
    del rows

    started = time.perf_counter()
    result = close_period(settings, "2026-05", caused_by="bench", chunk=100)
    figures["rate_split_close_s"] = time.perf_counter() - started
    figures["tenants_rated"] = result.tenants_rated
    figures["statements"] = result.statements
    with session(settings) as s:
        figures["lines"] = s.execute(text("SELECT count(*) FROM ledger_invoice_lines")).scalar()
        figures["entries"] = s.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
    figures["million_s"] = figures["ingest_s"] + figures["rate_split_close_s"]
    figures["events_per_s"] = figures["events"] / figures["million_s"]
    figures["ratio_to_baseline"] = figures["ingest_s"] / base
    figures["million_to_baseline"] = figures["million_s"] / base

    if not args.skip_payouts:
        started = time.perf_counter()
        paid = run_payouts(settings, caused_by="bench", rail=FileRail(settings.home / "r.jsonl"),
                           now=datetime(2026, 6, 2, tzinfo=UTC))
        figures["payouts_s"] = time.perf_counter() - started
        figures["payouts"] = len(paid)
        figures["with_payouts_s"] = figures["million_s"] + figures["payouts_s"]
    started = time.perf_counter()
    with session(settings) as s:
        report = reconciliation(s)
    figures["reconcile_s"] = time.perf_counter() - started
    figures["nets_to_zero"] = report["nets_to_zero"] and report["balances_match"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--publishers", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--postgres-url", default=os.environ.get("TRACER_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-payouts", action="store_true")
    args = parser.parse_args()
    from tracer.settings import Settings

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            home = Path(tmp) / "sqlite"
            results.append(run("sqlite", Settings(home=home), args))
        if args.postgres_url:
            name = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(make_url(args.postgres_url).set(database="postgres"),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.postgres_url).set(database=name).render_as_string(
                hide_password=False)
            try:
                results.append(run("postgresql", Settings(home=Path(tmp) / "pg",
                                                          database_url=url), args))
            finally:
                from tracer.db import engine_for

                engine_for(url).dispose()
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print("PostgreSQL skipped: pass --postgres-url or source .ci/postgres",
                  file=sys.stderr)
    keys = ["events", "ingested", "baseline_insert_s", "ingest_s", "ratio_to_baseline",
            "rate_split_close_s", "million_s", "million_to_baseline", "events_per_s",
            "tenants_rated", "lines", "entries", "statements", "payouts_s", "payouts",
            "with_payouts_s", "reconcile_s", "nets_to_zero"]
    table = [f"| figure | {' | '.join(r['engine'] for r in results)} |",
             "|---" + "|---:" * len(results) + "|"]
    print(f"{'':22}" + "".join(f"{r['engine']:>14}" for r in results))
    for key in keys:
        cells = []
        for r in results:
            value = r.get(key, "-")
            cells.append(f"{value:.2f}" if isinstance(value, float) else f"{value!s}")
        print(f"{key:22}" + "".join(f"{c:>14}" for c in cells))
        table.append(f"| {key} | {' | '.join(cells)} |")
    if results:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Ledger benchmark\n\n"
            f"{args.events:,} usage events, {args.tenants:,} tenants, {args.publishers:,} "
            "publishers (one third-party listing each, $0.004/prediction, $20/install-month, "
            "30 % commission). Baseline: bare executemany INSERT of the same rows into an "
            "unindexed scratch table, same engine, same run. Seconds unless named.\n\n"
            + "\n".join(table) + "\n\nGoal: million_s ≤ 60 s on SQLite.\n\n"
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average at the end {load}.\n")
    return 0 if all(r["nets_to_zero"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
