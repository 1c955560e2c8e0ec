"""The model lifecycle: records → validate → select → evaluate → refit → log → promote.

Records are ordered by the domain's ``order_by`` column and the latest ``training.eval_fraction`` is
held out. On the rest (the training part) every candidate is cross-validated over
expanding time windows and the leaderboard picks a winner (``tracer.selection``). The
winner and the baselines are then fitted on the training part and scored on the held-out
part, which nothing was chosen on (``tracer.holdout``): that is the estimate the model card
reports. Finally the winner is refit on every row and that model serves, calibrated from
out-of-fold margins only. Promotion is noise-aware (``tracer.promotion``). Each stage is a
function of ``tracer.stages``; this module runs them and keeps the run's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer import stages
from tracer.db import session, utcnow
from tracer.errors import ModelError, TracerError
from tracer.models import TrainingRun
from tracer.stages import MIN_ROWS, PLATFORM_PARAMS, load_training_frame
from tracer.tracking import CHAMPION, PREVIOUS, ModelStore

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.domain import Domain
    from tracer.host import PluginHost
    from tracer.tenant_data import TrainingPlan

Progress = Callable[[str], None]
STAGES = ("load", "validate", "select", "evaluate", "refit", "log", "promote")
__all__ = ["MIN_ROWS", "PLATFORM_PARAMS", "STAGES", "TrainingResult", "load_training_frame",
           "model_name_for", "promote", "rollback", "train"]


@dataclass
class TrainingResult:
    run_id: str
    domain: str
    model_name: str
    version: int
    promoted: bool
    decision: str
    primary_metric: str
    metrics: dict[str, float]
    interval: tuple[float, float]
    baselines: dict[str, dict[str, float]]
    champion_metric: float | None
    threshold: float
    rows: dict[str, Any]
    mlflow_run_id: str
    model_card: str
    extras: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.pop("model_card")
        return out


def model_name_for(domain: Domain, tenant: str | None = None) -> str:
    return f"{tenant}.{domain.model_name}" if tenant else domain.model_name


def train(host: PluginHost, store: ModelStore, domain_name: str, *,
          data: str | Path | pd.DataFrame | None = None, tenant: str | None = None,
          params: dict[str, Any] | None = None, progress: Progress | None = None,
          plan: TrainingPlan | None = None) -> TrainingResult:
    """Run the whole lifecycle once; on any failure the champion stays as it was.

    ``plan`` (a tenant's challenger, ``tracer.tenant_data``): ``data`` is already in
    training order, and the plan gives each row's source and weight and the size of the
    evaluation window; the row counts by source go on the run and the model card."""
    step = progress or (lambda _stage: None)
    domain = host.domain(domain_name)
    settings = host.settings
    name = model_name_for(domain, tenant)
    run_id = str(uuid.uuid4())
    source = "reference data" if data is None else (
        "records" if isinstance(data, pd.DataFrame) else str(data))
    with session(settings) as s:
        s.add(TrainingRun(id=run_id, tenant=tenant, domain=domain.name, model_name=name,
                          status="running", source=source, started_at=utcnow()))
    try:
        result = _train(host, store, domain, name, run_id, data, tenant, params or {}, step,
                        plan)
    except Exception as exc:
        with session(settings) as s:
            run = s.get_one(TrainingRun, run_id)  # added above, never deleted
            run.status, run.finished_at = "failed", utcnow()
            run.error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TracerError):
            raise
        raise ModelError(f"training {domain.name} failed: {type(exc).__name__}: {exc}",
                         domain=domain.name) from exc
    with session(settings) as s:
        run = s.get_one(TrainingRun, run_id)  # added above, never deleted
        run.status, run.finished_at = "succeeded", utcnow()
        run.mlflow_run_id, run.model_version = result.mlflow_run_id, result.version
        run.decision, run.rows = result.decision, result.rows
        run.metrics = {k: v for k, v in result.metrics.items() if np.isfinite(v)}
    return result


def _train(host: PluginHost, store: ModelStore, domain: Domain, name: str, run_id: str,
           data: Any, tenant: str | None, params: dict[str, Any], step: Progress,
           plan: TrainingPlan | None = None) -> TrainingResult:
    """The stages in order (``tracer.stages``); ``step`` hears each one as it starts."""
    run = stages.Run(host, store, domain, name, run_id, tenant, params, plan)
    step("load")
    labels = stages.load(run, data, step)  # reports "validate" once the rows are read
    stages.split(run, labels)
    step("select")
    stages.fit_candidates(run)
    step("evaluate")
    stages.evaluate(run)
    step("refit")
    stages.refit(run)
    stages.judge_against_champion(run)
    step("log")  # from here on the model is registered: a job can no longer be stopped
    stages.register(run)
    step("promote")
    stages.promote(run)
    hold, verdict = run.hold, run.verdict
    return TrainingResult(run_id=run_id, domain=domain.name, model_name=name,
                          version=run.version, promoted=verdict.promoted,
                          decision=verdict.decision, primary_metric=domain.primary_metric,
                          metrics=run.metrics, interval=hold.interval,
                          baselines=hold.baselines, champion_metric=verdict.champion_metric,
                          threshold=run.model.threshold, rows=run.rows,
                          mlflow_run_id=run.mlflow_run_id, model_card=run.model_card,
                          extras=run.extras)


def promote(store: ModelStore, name: str, version: int) -> None:
    """Make ``version`` the champion by hand; the old champion becomes previous-champion."""
    store.version(name, version)  # raises NotFoundError for an unknown version
    current = store.alias(name, CHAMPION)
    if current is not None and current.version != version:
        store.set_alias(name, PREVIOUS, current.version)
    store.set_alias(name, CHAMPION, version)


def rollback(store: ModelStore, name: str) -> int:
    """Put the previous champion back; returns the version now serving."""
    from tracer.errors import ConflictError

    previous = store.alias(name, PREVIOUS)
    if previous is None:
        raise ConflictError(f"model {name} has no previous champion to roll back to",
                            model=name)
    promote(store, name, previous.version)
    return previous.version


