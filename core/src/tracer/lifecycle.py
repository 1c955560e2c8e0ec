"""The model lifecycle: records → validate → split → features → train → calibrate →
evaluate → log → register → promote.

The split is time-aware: records are ordered by the domain's ``order_by`` column, the
latest ``eval_fraction`` is held out for evaluation, and the latest ``calibration_fraction``
of the rest calibrates probabilities and picks the decision threshold. Features learn their
state on the earliest part only. Nothing about the evaluation part is used to fit anything.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tracer import __version__
from tracer.db import TrainingRun, session, utcnow
from tracer.domain import Domain, FeatureState
from tracer.errors import LabelError, ModelError, TracerError, ValidationError
from tracer.evaluation import (
    better,
    bootstrap_ci,
    evaluate,
    expected_calibration_error,
    expected_cost,
    min_cost_threshold,
    plot_reliability,
)
from tracer.features import compute_features
from tracer.host import PluginHost
from tracer.model import TracerModel, fit_platt, sigmoid
from tracer.model_card import render_model_card
from tracer.records import read_table, validate_records
from tracer.tracking import CHALLENGER, CHAMPION, PREVIOUS, ModelStore

Progress = Callable[[str], None]
STAGES = ("load", "validate", "features", "train", "calibrate", "evaluate", "log", "promote")
MIN_ROWS = 40
#: ``params`` keys the platform reads itself; the rest go to ``tracer_train``
PLATFORM_PARAMS = ("costs", "weights")


@dataclass
class Split:
    fit: slice
    calibration: slice
    evaluation: slice


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
    rows: dict[str, int]
    mlflow_run_id: str
    model_card: str
    extras: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.pop("model_card")
        return out


def model_name_for(domain: Domain, tenant: str | None = None) -> str:
    return f"{tenant}.{domain.model_name}" if tenant else domain.model_name


def time_split(n: int, eval_fraction: float, calibration_fraction: float) -> Split:
    n_eval = max(1, int(round(n * eval_fraction)))
    train_end = n - n_eval
    n_cal = max(1, int(round(train_end * calibration_fraction)))
    return Split(slice(0, train_end - n_cal), slice(train_end - n_cal, train_end),
                 slice(train_end, n))


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
          ) -> TrainingResult:
    """Run the whole lifecycle once; on any failure the champion stays as it was."""
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
        result = _train(host, store, domain, name, run_id, data, tenant, params or {}, step)
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
        run.decision = result.decision
        run.metrics = {k: v for k, v in result.metrics.items() if np.isfinite(v)}
    return result


def _train(host: PluginHost, store: ModelStore, domain: Domain, name: str, run_id: str,
           data: Any, tenant: str | None, params: dict[str, Any], step: Progress
           ) -> TrainingResult:
    import mlflow
    import xgboost as xgb

    settings = host.settings
    step("load")
    frame, source = load_training_frame(domain, data)
    step("validate")
    records, labels = validate_records(domain, frame, source=source, require_label=True,
                                       require_order=True)
    if len(records) < MIN_ROWS:
        raise ValidationError(f"{source}: {len(records)} records; training needs at least "
                              f"{MIN_ROWS}", source=source)
    order = np.argsort(records[domain.order_by].to_numpy(), kind="stable")
    records = records.iloc[order].reset_index(drop=True)
    labels = labels[order]
    weights = None
    # params {"weights": False}: the tenant's file is not sampled like the reference data
    if domain.weight is not None and params.get("weights", True):
        weights = np.asarray(domain.weight(records.assign(**{domain.label: labels})),
                             dtype=np.float64)
    split = time_split(len(records), settings.eval_fraction, settings.calibration_fraction)
    for part, sl in (("evaluation", split.evaluation), ("calibration", split.calibration),
                     ("training", split.fit)):
        if len(np.unique(labels[sl])) < 2:
            raise LabelError(f"{source}: the {part} part (ordered by {domain.order_by}) holds "
                             f"only one class of {domain.label!r}; add records with both "
                             "outcomes", source=source)

    def part(sl: slice) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
        return (records.iloc[sl].reset_index(drop=True), labels[sl],
                None if weights is None else weights[sl])

    (r_fit, y_fit, w_fit), (r_cal, y_cal, w_cal), (r_eval, y_eval, w_eval) = (
        part(split.fit), part(split.calibration), part(split.evaluation))

    step("features")
    state = FeatureState(fitting=True, labels=y_fit, weights=w_fit)
    x_fit = compute_features(host, domain, r_fit, state)
    state.fitting, state.labels, state.weights = False, None, None
    x_cal = compute_features(host, domain, r_cal, state)
    x_eval = compute_features(host, domain, r_eval, state)

    step("train")
    train_params = {"seed": settings.seed,
                    **{k: v for k, v in params.items() if k not in PLATFORM_PARAMS}}
    booster = host.call_first("tracer_train", domain, features=x_fit, labels=y_fit,
                              weights=w_fit, params=train_params)
    if not isinstance(booster, xgb.Booster):
        raise ModelError(f"tracer_train for {domain.name} returned {type(booster).__name__}, "
                         "expected an xgboost.Booster")

    step("calibrate")
    seen = split.calibration.stop  # rows before the evaluation part
    train_w = np.ones(seen) if weights is None else weights[:seen]
    base_rate = float(np.sum(train_w * labels[:seen]) / np.sum(train_w))
    model = TracerModel(domain=domain.name, domain_version=domain.version, booster=booster,
                        feature_names=list(x_fit.columns), state=state, base_rate=base_rate)
    raw_cal = model.raw_margin(x_cal)
    model.calibration = calibration = fit_platt(raw_cal, y_cal, w_cal)
    costs = domain.cost_model.with_overrides(params.get("costs")) if domain.cost_model else None
    if costs is not None:
        amounts_cal = r_cal[costs.false_negative_column] if costs.false_negative_column else None
        model.threshold, _ = min_cost_threshold(y_cal, sigmoid(model.calibrate(raw_cal)),
                                                w_cal, costs, amounts_cal)

    step("evaluate")
    raw_eval_margin = model.raw_margin(x_eval)
    p_eval = sigmoid(model.calibrate(raw_eval_margin))
    raw_eval = sigmoid(raw_eval_margin)
    metrics = evaluate(y_eval, p_eval, w_eval, model.threshold, domain.extra_metrics)
    metrics["ece"] = expected_calibration_error(y_eval, p_eval, w_eval)
    metrics["ece_uncalibrated"] = expected_calibration_error(y_eval, raw_eval, w_eval)
    interval = bootstrap_ci(domain.primary_metric, y_eval, p_eval, w_eval, model.threshold,
                            samples=settings.bootstrap_samples, seed=settings.seed)
    primary = domain.primary_metric
    metrics[f"{primary}_ci_low"], metrics[f"{primary}_ci_high"] = interval
    baselines = _baselines(domain, r_eval, y_eval, w_eval, pd.concat([x_fit, x_cal]),
                           np.concatenate([y_fit, y_cal]),
                           None if weights is None else np.concatenate([w_fit, w_cal]),
                           x_eval, base_rate, model.threshold, settings)
    extras: dict[str, Any] = {"calibration": calibration}
    if costs is not None:
        amounts = r_eval[costs.false_negative_column] if costs.false_negative_column else None
        metrics["expected_cost"] = expected_cost(y_eval, p_eval, w_eval, model.threshold,
                                                 costs, amounts)
        metrics["expected_cost_never_act"] = expected_cost(y_eval, p_eval, w_eval, 2.0, costs,
                                                           amounts)
        oracle_t, oracle_cost = min_cost_threshold(y_eval, p_eval, w_eval, costs, amounts)
        metrics["expected_cost_best_possible_threshold"] = oracle_cost
        extras["costs"] = dict(costs.__dict__)
        extras["best_possible_threshold"] = oracle_t
    model.info = {"tracer_version": __version__, "tenant": tenant, "source": source,
                  "primary_metric": domain.primary_metric, "costs": extras.get("costs")}

    step("log")
    rows = {"fit": len(r_fit), "calibration": len(r_cal), "evaluation": len(r_eval)}
    champion = store.alias(name, CHAMPION)
    champion_metric = None
    if champion is not None:
        champion_metric = _score_champion(host, store, domain, name, champion.version, r_eval,
                                          y_eval, w_eval)
    promoted = champion is None or (champion_metric is not None and better(
        domain.primary_metric, metrics[domain.primary_metric], champion_metric))
    if champion is None:
        decision = "promoted: no champion yet"
    elif champion_metric is None:
        decision = "kept champion: it could not be scored on this evaluation data"
    else:
        verb = "promoted" if promoted else "kept champion"
        decision = (f"{verb}: {domain.primary_metric} {metrics[domain.primary_metric]:.4f} vs "
                    f"champion v{champion.version} {champion_metric:.4f} on the same "
                    f"{len(r_eval)} evaluation records")
    model_card = render_model_card(domain, name, metrics, interval, baselines, model, rows,
                                   source, decision, extras)
    exp_id = store.experiment_id(name)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(
            experiment_id=exp_id, run_name=f"{domain.name} {run_id[:8]}") as run:
        tmp_path = Path(tmp)
        mlflow.set_tags({"tracer.domain": domain.name, "tracer.run_id": run_id,
                         "tracer.tenant": tenant or "", "tracer.source": source})
        mlflow.log_params({"domain_version": domain.version, "rows_fit": rows["fit"],
                           "rows_calibration": rows["calibration"],
                           "rows_evaluation": rows["evaluation"],
                           "threshold": round(model.threshold, 6),
                           "calibration_a": round(calibration["a"], 6),
                           "calibration_b": round(calibration["b"], 6),
                           "sample_weights": weights is not None,
                           **{f"train.{k}": v for k, v in
                              {**dict(domain.train_params), **train_params}.items()
                              if k != "costs"}})
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        for bname, bmetrics in baselines.items():
            mlflow.log_metrics({f"baseline.{_slug(bname)}.{k}": v for k, v in bmetrics.items()
                                if np.isfinite(v)})
        plot_reliability({"model": (y_eval, p_eval, w_eval),
                          "model before calibration": (y_eval, raw_eval, w_eval)},
                         tmp_path / "reliability.png", f"{domain.name}: reliability")
        mlflow.log_artifact(str(tmp_path / "reliability.png"))
        mlflow.log_text(model_card, "model_card.md")
        mlflow.log_dict({"metrics": metrics, "baselines": baselines, "rows": rows,
                         "decision": decision, **extras}, "evaluation.json")
        model_dir = model.save(tmp_path / "tracer")
        from mlflow.models import infer_signature

        signature = infer_signature(x_eval.head(50), p_eval[:50])
        info = mlflow.xgboost.log_model(
            booster, name="model", signature=signature, model_format="ubj",
            pip_requirements=[f"xgboost-cpu=={xgb.__version__}"],
            extra_files=[str(model_dir / "state.json")])
        mlflow_run_id = run.info.run_id
        version = store.register(name, info.model_uri, mlflow_run_id)

    step("promote")
    store.tag_version(name, version, {"tracer.decision": decision,
                                      "tracer.primary_metric": domain.primary_metric,
                                      "tracer.challenger_metric": metrics[domain.primary_metric],
                                      "tracer.champion_metric": champion_metric,
                                      "tracer.threshold": model.threshold})
    store.set_alias(name, CHALLENGER, version)
    if promoted:
        if champion is not None:
            store.set_alias(name, PREVIOUS, champion.version)
        store.set_alias(name, CHAMPION, version)
    return TrainingResult(run_id=run_id, domain=domain.name, model_name=name, version=version,
                          promoted=promoted, decision=decision,
                          primary_metric=domain.primary_metric, metrics=metrics,
                          interval=interval, baselines=baselines,
                          champion_metric=champion_metric, threshold=model.threshold,
                          rows=rows, mlflow_run_id=mlflow_run_id, model_card=model_card,
                          extras=extras)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _baselines(domain: Domain, r_eval: pd.DataFrame, y_eval: np.ndarray, w_eval: Any,
               x_train: pd.DataFrame, y_train: np.ndarray, w_train: Any,
               x_eval: pd.DataFrame, base_rate: float, threshold: float, settings: Any
               ) -> dict[str, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, dict[str, float]] = {}
    candidates: dict[str, np.ndarray] = {
        "majority class": np.full(len(y_eval), base_rate)}
    if domain.baseline is not None:
        candidates[f"rule: {domain.baseline.name}"] = np.clip(
            np.asarray(domain.baseline.rule(r_eval), dtype=np.float64), 0.0, 1.0)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    lr.fit(x_train.to_numpy(), y_train, logisticregression__sample_weight=w_train)
    candidates["logistic regression"] = lr.predict_proba(x_eval.to_numpy())[:, 1]
    for label, p in candidates.items():
        # the majority baseline says "never the event" unless the event is the majority
        t = 0.5 if label == "majority class" else threshold
        metrics = evaluate(y_eval, p, w_eval, t, domain.extra_metrics)
        low, high = bootstrap_ci(domain.primary_metric, y_eval, p, w_eval, t,
                                 samples=min(settings.bootstrap_samples, 200), seed=settings.seed)
        primary = domain.primary_metric
        metrics[f"{primary}_ci_low"], metrics[f"{primary}_ci_high"] = low, high
        out[label] = metrics
    return out


def _score_champion(host: PluginHost, store: ModelStore, domain: Domain, name: str,
                    version: int, r_eval: pd.DataFrame, y_eval: np.ndarray,
                    w_eval: Any) -> float | None:
    """The current champion's primary metric on the new run's evaluation records."""
    from tracer.evaluation import METRICS

    try:
        champion = store.load(name, version)
        x = compute_features(host, domain, r_eval, FeatureState(False, champion.state.values))
        p = champion.predict_proba(x)
    except TracerError:
        return None
    return METRICS[domain.primary_metric](y_eval, p, w_eval, threshold=champion.threshold)


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


