"""The model lifecycle: records → validate → select → evaluate → refit → log → promote.

Records are ordered by the domain's ``order_by`` column and the latest ``eval_fraction`` is
held out. On the rest (the training part) every candidate is cross-validated over
expanding time windows and the leaderboard picks a winner (``tracer.selection``). The
winner and the baselines are then fitted on the training part and scored on the held-out
part, which nothing was chosen on (``tracer.holdout``): that is the estimate the model card
reports. Finally the winner is refit on every row and that model serves, calibrated from
out-of-fold margins only. Promotion is noise-aware (``tracer.promotion``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer import __version__
from tracer.candidates import candidates_for
from tracer.db import TrainingRun, session, utcnow
from tracer.domain import Domain, FeatureState
from tracer.errors import LabelError, ModelError, TracerError, ValidationError
from tracer.evaluation import expected_calibration_error
from tracer.features import compute_features
from tracer.holdout import Part, assess, cost_threshold
from tracer.model import TracerModel, fit_platt, sigmoid
from tracer.model_card import render_model_card
from tracer.promotion import judge
from tracer.records import read_table, validate_records
from tracer.registration import RunRecord, log_and_register
from tracer.selection import cross_validate
from tracer.tracking import CHALLENGER, CHAMPION, PREVIOUS, ModelStore
from tracer.whatif import record_ranges

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.host import PluginHost
    from tracer.tenant_data import TrainingPlan

Progress = Callable[[str], None]
STAGES = ("load", "validate", "select", "evaluate", "refit", "log", "promote")
MIN_ROWS = 40
#: ``params`` keys the platform reads itself; the rest go to ``tracer_train``
PLATFORM_PARAMS = ("costs", "weights", "candidates")


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


def load_training_frame(domain: Domain, data: str | Path | pd.DataFrame | None
                        ) -> tuple[pd.DataFrame, str]:
    if data is None:
        return domain.load_reference(), f"reference data of {domain.name}"
    if isinstance(data, pd.DataFrame):
        return data, "records"
    return read_table(data), str(data)


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
            run = s.get(TrainingRun, run_id)
            run.status, run.finished_at = "failed", utcnow()
            run.error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TracerError):
            raise
        raise ModelError(f"training {domain.name} failed: {type(exc).__name__}: {exc}",
                         domain=domain.name) from exc
    with session(settings) as s:
        run = s.get(TrainingRun, run_id)
        run.status, run.finished_at = "succeeded", utcnow()
        run.mlflow_run_id, run.model_version = result.mlflow_run_id, result.version
        run.decision, run.rows = result.decision, result.rows
        run.metrics = {k: v for k, v in result.metrics.items() if np.isfinite(v)}
    return result


def _train(host: PluginHost, store: ModelStore, domain: Domain, name: str, run_id: str,
           data: Any, tenant: str | None, params: dict[str, Any], step: Progress,
           plan: TrainingPlan | None = None) -> TrainingResult:
    settings = host.settings
    step("load")
    frame, source = load_training_frame(domain, data)
    step("validate")
    records, labels = validate_records(domain, frame, source=source, require_label=True,
                                       require_order=True)
    if len(records) < MIN_ROWS:
        raise ValidationError(f"{source}: {len(records)} records; training needs at least "
                              f"{MIN_ROWS}", source=source)
    if plan is not None and len(plan) != len(records):
        raise ValueError(f"the training plan has {len(plan)} rows for {len(records)} records")
    if plan is None:  # a plan's frame is in training order already
        order = np.argsort(records[domain.order_by].to_numpy(), kind="stable")
        records = records.iloc[order].reset_index(drop=True)
        labels = labels[order]
    weights = None
    # params {"weights": False}: the tenant's file is not sampled like the reference data
    if domain.weight is not None and params.get("weights", True):
        weights = np.asarray(domain.weight(records.assign(**{domain.label: labels})),
                             dtype=np.float64)
    if plan is not None and plan.weight is not None:
        weights = plan.weight if weights is None else weights * plan.weight
    every = Part(records, labels, weights)
    n_eval = plan.evaluation_rows if plan is not None else max(
        1, int(round(len(records) * settings.eval_fraction)))
    train_part, held = every.take(slice(0, len(records) - n_eval)), every.take(
        slice(len(records) - n_eval, len(records)))
    for what, part in (("evaluation", held), ("training", train_part)):
        if len(np.unique(part.labels)) < 2:
            raise LabelError(f"{source}: the {what} part (ordered by {domain.order_by}) holds "
                             f"only one class of {domain.label!r}; add records with both "
                             "outcomes", source=source)
    train_params = {"seed": settings.seed,
                    **{k: v for k, v in params.items() if k not in PLATFORM_PARAMS}}
    costs = domain.cost_model.with_overrides(params.get("costs")) if domain.cost_model else None

    step("select")
    candidates = candidates_for(host, domain, params.get("candidates"))
    board = cross_validate(host, domain, candidates, train_part.records, train_part.labels,
                           train_part.weights, train_params)
    step("evaluate")
    hold = assess(host, domain, board, train_part, held, train_params, costs,
                  settings.bootstrap_samples, settings.seed)
    metrics, primary = hold.metrics, domain.primary_metric

    step("refit")
    model, oof = _refit(host, domain, board, every, train_part, held, hold, train_params,
                        costs)
    metrics["ece_out_of_fold"] = expected_calibration_error(oof.labels, oof.p, oof.weights)
    model.info = {"tracer_version": __version__, "tenant": tenant, "source": source,
                  "primary_metric": primary, "costs": hold.extras.get("costs"),
                  "candidate": board.winner.candidate.as_dict(),
                  "trained_through": _jsonable(records[domain.order_by].iloc[-1]),
                  "rows": len(records),
                  "record_ranges": record_ranges(domain, records)}  # what-if stays within
    unseen = None
    if plan is not None:
        model.info["trained_on"] = plan.trained_on()
        window = plan.tail(n_eval)
        unseen = window.unseen_by
    verdict = judge(host, store, domain, name, held.records, held.labels, held.weights,
                    hold.p_eval, hold.threshold, settings.bootstrap_samples, settings.seed,
                    unseen)
    rows: dict[str, Any] = {"training": len(train_part), "evaluation": len(held),
                            "served": len(every)}
    by_source: dict[str, int] = {}
    if plan is not None:
        rows["by_source"] = plan.by_part()
        rows["evaluation_rule"] = plan.rule
        by_source = {f"rows_{part}_{src}": n for part, counts in rows["by_source"].items()
                     for src, n in counts.items()}
    extras: dict[str, Any] = {**hold.extras, "calibration": model.calibration,
                              "winner": board.winner.candidate.name,
                              "selection": board.reason, "leaderboard": board.as_dict(),
                              "served_kind": model.kind,
                              "comparison": None if verdict.comparison is None
                              else verdict.comparison.__dict__}

    step("log")
    model_card = render_model_card(domain, name, metrics, hold.interval, hold.baselines, model,
                                   rows, source, verdict.decision, extras, board)
    record = RunRecord(
        name=name, run_id=run_id, title=f"{domain.name} {run_id[:8]}",
        tags={"tracer.domain": domain.name, "tracer.run_id": run_id,
              "tracer.tenant": tenant or "", "tracer.source": source,
              "tracer.candidate": board.winner.candidate.name},
        params={"domain_version": domain.version, "rows_training": rows["training"],
                "rows_evaluation": rows["evaluation"], "rows_served": rows["served"],
                "threshold": round(model.threshold, 6), "candidate": board.winner.candidate.name,
                "model_kind": model.kind, "calibration_a": round(model.calibration["a"], 6),
                "calibration_b": round(model.calibration["b"], 6),
                "sample_weights": weights is not None, **by_source,
                **{f"train.{k}": v for k, v in
                   {**dict(domain.train_params), **train_params}.items() if k != "costs"}},
        metrics=metrics, baselines=hold.baselines, board=board,
        evaluation={"metrics": metrics, "baselines": hold.baselines, "rows": rows,
                    "decision": verdict.decision, **extras},
        model_card=model_card,
        curves={"evaluation part": (held.labels, hold.p_eval, held.weights),
                "evaluation part before calibration": (held.labels, sigmoid(hold.raw_eval),
                                                       held.weights),
                "out-of-fold (served calibration)": (oof.labels, oof.p, oof.weights)})
    mlflow_run_id, version = log_and_register(store, record, model, hold.x_eval.head(50),
                                              hold.p_eval[:50])

    step("promote")
    store.tag_version(name, version, {"tracer.decision": verdict.decision,
                                      "tracer.primary_metric": primary,
                                      "tracer.challenger_metric": metrics[primary],
                                      "tracer.champion_metric": verdict.champion_metric,
                                      "tracer.threshold": model.threshold,
                                      "tracer.candidate": board.winner.candidate.name})
    store.set_alias(name, CHALLENGER, version)
    if verdict.promoted:
        champion = store.alias(name, CHAMPION)
        if champion is not None:
            store.set_alias(name, PREVIOUS, champion.version)
        store.set_alias(name, CHAMPION, version)
    return TrainingResult(run_id=run_id, domain=domain.name, model_name=name, version=version,
                          promoted=verdict.promoted, decision=verdict.decision,
                          primary_metric=primary, metrics=metrics, interval=hold.interval,
                          baselines=hold.baselines, champion_metric=verdict.champion_metric,
                          threshold=model.threshold, rows=rows, mlflow_run_id=mlflow_run_id,
                          model_card=model_card, extras=extras)


@dataclass
class OutOfFold:
    """Out-of-fold rows of the served model's calibration: features, labels, weights."""

    p: np.ndarray  # calibrated probabilities
    labels: np.ndarray
    weights: np.ndarray | None


def _refit(host: PluginHost, domain: Domain, board: Any, every: Part, train_part: Part,
           held: Part, hold: Any, params: dict[str, Any], costs: Any
           ) -> tuple[TracerModel, OutOfFold]:
    """The winner refit on every row; calibrated, and its threshold chosen, on out-of-fold
    margins only (the leaderboard's windows, then the evaluation part)."""
    from tracer.candidates import fit
    from tracer.linear import LinearModel

    state = FeatureState(fitting=True, labels=every.labels, weights=every.weights)
    x_all = compute_features(host, domain, every.records, state)
    state.fitting, state.labels, state.weights = False, None, None
    fitted = fit(host, domain, board.winner.candidate, x_all, every.labels, every.weights,
                 params)
    oof_part = train_part.take(board.oof_rows)
    y = np.concatenate([oof_part.labels, held.labels])
    w = None if every.weights is None else np.concatenate([oof_part.weights, held.weights])
    margins = np.concatenate([board.winner.oof_margin, hold.raw_eval])
    calibration = fit_platt(margins, y, w)
    ww = np.ones(len(every)) if every.weights is None else every.weights
    base_rate = float(np.sum(ww * every.labels) / np.sum(ww))
    linear = fitted if isinstance(fitted, LinearModel) else None
    model = TracerModel(domain=domain.name, domain_version=domain.version,
                        booster=None if linear else fitted, feature_names=list(x_all.columns),
                        state=state, calibration=calibration, base_rate=base_rate,
                        linear=linear)
    p = sigmoid(calibration["a"] * margins + calibration["b"])
    oof_records = pd.concat([oof_part.records, held.records], ignore_index=True)
    model.threshold = cost_threshold(costs, Part(oof_records, y, w), p)
    return model, OutOfFold(p, y, w)


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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


