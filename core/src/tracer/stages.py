"""The stages of one training run, in order, each a function of the run so far.

``tracer.lifecycle.train`` runs them: load the rows → split them in time → fit the
candidates (time-aware cross-validation, the leaderboard) → evaluate the winner on the
held-out part → refit it on every row (the served model) → judge it against the champion →
register it in MLflow → promote it (or keep the champion). Each stage reads what earlier
stages put on the ``Run`` and adds its own; nothing is registered before ``register``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer import __version__
from tracer.candidates import candidates_for
from tracer.domain import FeatureState
from tracer.errors import LabelError, ValidationError
from tracer.evaluation import expected_calibration_error
from tracer.features import compute_features
from tracer.holdout import Part, assess, cost_threshold
from tracer.model import TracerModel, fit_platt, sigmoid
from tracer.model_card import render_model_card
from tracer.promotion import judge
from tracer.records import read_table, validate_records
from tracer.registration import RunRecord, log_and_register
from tracer.selection import cross_validate
from tracer.tracking import CHALLENGER, CHAMPION, PREVIOUS
from tracer.whatif import record_ranges

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.domain import CostModel, Domain
    from tracer.holdout import Holdout
    from tracer.host import PluginHost
    from tracer.promotion import Verdict
    from tracer.selection import Leaderboard
    from tracer.tenant_data import TrainingPlan
    from tracer.tracking import ModelStore

MIN_ROWS = 40
#: ``params`` keys the platform reads itself; the rest go to ``tracer_train``
PLATFORM_PARAMS = ("costs", "weights", "candidates")


def _later() -> Any:
    """A ``Run`` field its stage sets: not an ``__init__`` argument, no default."""
    return field(init=False, repr=False)


@dataclass
class Run:
    """One training run as the stages fill it in."""

    host: PluginHost
    store: ModelStore
    domain: Domain
    name: str
    run_id: str
    tenant: str | None
    params: dict[str, Any]
    plan: TrainingPlan | None
    # load
    source: str = ""
    records: pd.DataFrame = field(default_factory=pd.DataFrame)
    # split (a field without a default is set by its stage: reading it earlier is a bug, and
    # raises AttributeError rather than handing a later stage a None)
    weights: np.ndarray | None = None
    every: Part = _later()  # every row, in training order
    train_part: Part = _later()
    held: Part = _later()
    n_eval: int = 0
    train_params: dict[str, Any] = field(default_factory=dict)
    costs: CostModel | None = None
    # fit candidates, evaluate, refit, judge
    board: Leaderboard = _later()
    hold: Holdout = _later()
    model: TracerModel = _later()
    oof: OutOfFold = _later()
    verdict: Verdict = _later()
    rows: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    # register
    model_card: str = ""
    mlflow_run_id: str = ""
    version: int = 0

    @property
    def metrics(self) -> dict[str, float]:
        return self.hold.metrics


def load_training_frame(domain: Domain, data: str | Path | pd.DataFrame | None
                        ) -> tuple[pd.DataFrame, str]:
    if data is None:
        return domain.load_reference(), f"reference data of {domain.name}"
    if isinstance(data, pd.DataFrame):
        return data, "records"
    return read_table(data), str(data)


def load(run: Run, data: Any, step: Any) -> np.ndarray:
    """Read and validate the rows, in training order; their labels."""
    domain, plan = run.domain, run.plan
    frame, run.source = load_training_frame(domain, data)
    step("validate")
    records, labels = validate_records(domain, frame, source=run.source, require_label=True,
                                       require_order=True)
    assert labels is not None  # require_label
    if len(records) < MIN_ROWS:
        raise ValidationError(f"{run.source}: {len(records)} records; training needs at "
                              f"least {MIN_ROWS}", source=run.source)
    if plan is not None and len(plan) != len(records):
        raise ValueError(f"the training plan has {len(plan)} rows for {len(records)} records")
    if plan is None:  # a plan's frame is in training order already
        order = np.argsort(records[domain.order_by].to_numpy(), kind="stable")
        records = records.iloc[order].reset_index(drop=True)
        labels = labels[order]
    run.records = records
    return labels


def split(run: Run, labels: np.ndarray) -> None:
    """Weigh the rows and hold out the latest for evaluation; the trainer's params."""
    domain, plan, params, records = run.domain, run.plan, run.params, run.records
    settings = run.host.settings
    # params {"weights": False}: the tenant's file is not sampled like the reference data
    if domain.weight is not None and params.get("weights", True):
        run.weights = np.asarray(domain.weight(records.assign(**{domain.label: labels})),
                                 dtype=np.float64)
    if plan is not None and plan.weight is not None:
        run.weights = plan.weight if run.weights is None else run.weights * plan.weight
    run.every = every = Part(records, labels, run.weights)
    run.n_eval = plan.evaluation_rows if plan is not None else max(
        1, int(round(len(records) * settings.training.eval_fraction)))
    cut = len(records) - run.n_eval
    run.train_part, run.held = every.take(slice(0, cut)), every.take(slice(cut, len(records)))
    for what, part in (("evaluation", run.held), ("training", run.train_part)):
        if len(np.unique(part.labels)) < 2:
            raise LabelError(f"{run.source}: the {what} part (ordered by {domain.order_by}) "
                             f"holds only one class of {domain.label!r}; add records with "
                             "both outcomes", source=run.source)
    run.train_params = {"seed": settings.seed,
                        **{k: v for k, v in params.items() if k not in PLATFORM_PARAMS}}
    run.costs = (domain.cost_model.with_overrides(params.get("costs"))
                 if domain.cost_model else None)


def fit_candidates(run: Run) -> None:
    """Cross-validate every candidate over time windows of the training part: the board."""
    part = run.train_part
    candidates = candidates_for(run.host, run.domain, run.params.get("candidates"))
    run.board = cross_validate(run.host, run.domain, candidates, part.records, part.labels,
                               part.weights, run.train_params)


def evaluate(run: Run) -> None:
    """The winner and the baselines fitted on the training part, scored on the held part."""
    settings = run.host.settings
    run.hold = assess(run.host, run.domain, run.board, run.train_part, run.held,
                      run.train_params, run.costs, settings.training.bootstrap_samples,
                      settings.seed)


def refit(run: Run) -> None:
    """The served model: the winner refit on every row, calibrated out of fold."""
    domain, records, primary = run.domain, run.records, run.domain.primary_metric
    run.model, run.oof = _refit(run.host, domain, run.board, run.every, run.train_part,
                                run.held, run.hold, run.train_params, run.costs)
    run.metrics["ece_out_of_fold"] = expected_calibration_error(
        run.oof.labels, run.oof.p, run.oof.weights)
    run.model.info = {"tracer_version": __version__, "tenant": run.tenant,
                      "source": run.source, "primary_metric": primary,
                      "costs": run.hold.extras.get("costs"),
                      "candidate": run.board.winner.candidate.as_dict(),
                      "trained_through": _jsonable(records[domain.order_by].iloc[-1]),
                      "rows": len(records),
                      "record_ranges": record_ranges(domain, records)}  # what-if stays within


def judge_against_champion(run: Run) -> None:
    """The promotion verdict on the evaluation part; the rows and extras the model card shows."""
    settings, plan, held, hold = run.host.settings, run.plan, run.held, run.hold
    unseen = None
    if plan is not None:
        run.model.info["trained_on"] = plan.trained_on()
        unseen = plan.tail(run.n_eval).unseen_by
    run.verdict = judge(run.host, run.store, run.domain, run.name, held.records, held.labels,
                        held.weights, hold.p_eval, hold.threshold,
                        settings.training.bootstrap_samples, settings.seed, unseen)
    run.rows = {"training": len(run.train_part), "evaluation": len(held),
                "served": len(run.every)}
    if plan is not None:
        run.rows["by_source"] = plan.by_part()
        run.rows["evaluation_rule"] = plan.rule
    comparison = run.verdict.comparison
    run.extras = {**hold.extras, "calibration": run.model.calibration,
                  "winner": run.board.winner.candidate.name, "selection": run.board.reason,
                  "leaderboard": run.board.as_dict(), "served_kind": run.model.kind,
                  "comparison": None if comparison is None else comparison.__dict__}


def register(run: Run) -> None:
    """Log the run to MLflow and register the model version (with its model card)."""
    domain, model, board, rows, hold = run.domain, run.model, run.board, run.rows, run.hold
    winner = board.winner.candidate.name
    by_source = {f"rows_{part}_{src}": n for part, counts in rows.get("by_source", {}).items()
                 for src, n in counts.items()}
    run.model_card = render_model_card(domain, run.name, run.metrics, hold.interval,
                                       hold.baselines, model, rows, run.source,
                                       run.verdict.decision, run.extras, board)
    held, oof = run.held, run.oof
    record = RunRecord(
        name=run.name, run_id=run.run_id, title=f"{domain.name} {run.run_id[:8]}",
        tags={"tracer.domain": domain.name, "tracer.run_id": run.run_id,
              "tracer.tenant": run.tenant or "", "tracer.source": run.source,
              "tracer.candidate": winner},
        params={"domain_version": domain.version, "rows_training": rows["training"],
                "rows_evaluation": rows["evaluation"], "rows_served": rows["served"],
                "threshold": round(model.threshold, 6), "candidate": winner,
                "model_kind": model.kind, "calibration_a": round(model.calibration["a"], 6),
                "calibration_b": round(model.calibration["b"], 6),
                "sample_weights": run.weights is not None, **by_source,
                **{f"train.{k}": v for k, v in
                   {**dict(domain.train_params), **run.train_params}.items() if k != "costs"}},
        metrics=run.metrics, baselines=hold.baselines, board=board,
        evaluation={"metrics": run.metrics, "baselines": hold.baselines, "rows": rows,
                    "decision": run.verdict.decision, **run.extras},
        model_card=run.model_card,
        curves={"evaluation part": (held.labels, hold.p_eval, held.weights),
                "evaluation part before calibration": (held.labels, sigmoid(hold.raw_eval),
                                                       held.weights),
                "out-of-fold (served calibration)": (oof.labels, oof.p, oof.weights)})
    run.mlflow_run_id, run.version = log_and_register(run.store, record, model,
                                                      hold.x_eval.head(50), hold.p_eval[:50])


def promote(run: Run) -> None:
    """Tag the version, make it the challenger and, if the verdict says so, the champion."""
    store, name, version, verdict = run.store, run.name, run.version, run.verdict
    primary = run.domain.primary_metric
    store.tag_version(name, version, {"tracer.decision": verdict.decision,
                                      "tracer.primary_metric": primary,
                                      "tracer.challenger_metric": run.metrics[primary],
                                      "tracer.champion_metric": verdict.champion_metric,
                                      "tracer.threshold": run.model.threshold,
                                      "tracer.candidate": run.board.winner.candidate.name})
    store.set_alias(name, CHALLENGER, version)
    if verdict.promoted:
        champion = store.alias(name, CHAMPION)
        if champion is not None:
            store.set_alias(name, PREVIOUS, champion.version)
        store.set_alias(name, CHAMPION, version)


@dataclass
class OutOfFold:
    """Out-of-fold rows of the served model's calibration: features, labels, weights."""

    p: np.ndarray  # calibrated probabilities
    labels: np.ndarray
    weights: np.ndarray | None


def _refit(host: PluginHost, domain: Domain, board: Leaderboard, every: Part,
           train_part: Part, held: Part, hold: Holdout, params: dict[str, Any],
           costs: CostModel | None
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
