"""What a ``/metrics`` scrape returns: every worker's request samples, and the figures the
database holds (spend so far this period, allowance use, training runs), read at scrape.

The database figures cost three aggregate queries for spend (any number of tenants) and one
for training runs; when the database does not answer, the scrape still returns the
request samples and ``tracer_database_up 0``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from tracer.api.telemetry import multiprocess_dir

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.core import Metric

    from tracer.settings import Settings

log = logging.getLogger(__name__)
FINISHED = ("succeeded", "failed", "cancelled")


class DatabaseFigures:
    """A collector reading the platform database when scraped."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        from tracer.db import session
        from tracer.models import TrainingJob
        from tracer.spend import spend_of

        up = GaugeMetricFamily("tracer_database_up", "1 when the scrape could read the "
                               "platform database")
        try:
            with session(self.settings) as s:
                spends = spend_of(s, self.settings)
                jobs = s.execute(select(TrainingJob.tenant_id, TrainingJob.domain,
                                        TrainingJob.status, func.count())
                                 .group_by(TrainingJob.tenant_id, TrainingJob.domain,
                                           TrainingJob.status)).all()
        except SQLAlchemyError as exc:  # the scrape must still answer: say the database is down
            log.warning("metrics: the platform database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        spend = GaugeMetricFamily(
            "tracer_tenant_spend_micros", "Spend so far this period at the platform's prices "
            "(tier fee, training runs, custom domains, overage), micro-units of currency",
            labels=["tenant", "tier", "currency"])
        fee = GaugeMetricFamily("tracer_tenant_tier_fee_micros", "The tier's monthly fee, "
                                "micro-units of currency", labels=["tenant", "tier", "currency"])
        used = GaugeMetricFamily("tracer_tenant_predictions_period", "Predictions counted "
                                 "against this period's allowance", labels=["tenant", "tier"])
        allowance = GaugeMetricFamily("tracer_tenant_predictions_allowance", "Predictions the "
                                      "tier allows a period", labels=["tenant", "tier"])
        for one in spends:
            spend.add_metric([one.tenant_id, one.tier, one.currency], one.total_micros)
            fee.add_metric([one.tenant_id, one.tier, one.currency], one.subscription_micros)
            used.add_metric([one.tenant_id, one.tier], one.predictions)
            allowance.add_metric([one.tenant_id, one.tier], one.predictions_allowance)
        yield from (spend, fee, used, allowance)
        runs = CounterMetricFamily("tracer_training_runs", "Training runs finished, by outcome",
                                   labels=["tenant", "domain", "status"])
        active = GaugeMetricFamily("tracer_training_jobs_active", "Training jobs queued or "
                                   "running", labels=["tenant", "domain", "status"])
        for tenant, domain, status, count in jobs:
            (runs if status in FINISHED else active).add_metric([tenant, domain, status], count)
        yield from (runs, active)


class _ThisProcess:
    """The default registry's samples (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(settings: Settings) -> tuple[bytes, str]:
    """The text exposition of one scrape and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseFigures(settings))
    return generate_latest(registry), CONTENT_TYPE_LATEST
