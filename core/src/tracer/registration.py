"""Logging one training run to MLflow and registering the served model as a version.

The run carries params, metrics (the held-out estimate, the baselines and the leaderboard),
the model card, the leaderboard as JSON, a reliability plot and the model itself: an MLflow
XGBoost model (UBJ, signature, pinned requirements) when a booster serves, the Tracer
folder of JSON numbers when a linear model does. Nothing is pickled.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracer.evaluation import plot_reliability

if TYPE_CHECKING:
    import pandas as pd

    from tracer.evaluation import Labels, Scores, Weights
    from tracer.model import TracerModel
    from tracer.selection import Leaderboard
    from tracer.tracking import ModelStore


@dataclass
class RunRecord:
    name: str
    run_id: str
    tags: dict[str, str]
    params: dict[str, Any]
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    board: Leaderboard
    evaluation: dict[str, Any]
    model_card: str
    curves: dict[str, tuple[Labels, Scores, Weights]]  # name: (y, p, w) of a reliability line
    title: str


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _finite(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, int | float) and np.isfinite(v)}


def log_and_register(store: ModelStore, record: RunRecord, model: TracerModel,
                     sample: pd.DataFrame, sample_p: np.ndarray) -> tuple[str, int]:
    """Log the run and register its model; returns (MLflow run id, model version)."""
    import mlflow

    exp_id = store.experiment_id(record.name)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(
            experiment_id=exp_id, run_name=record.title) as run:
        tmp_path = Path(tmp)
        mlflow.set_tags(record.tags)
        mlflow.log_params(record.params)
        # one batch: every metric call is a transaction on the tracking store
        values = _finite(record.metrics)
        for bname, bmetrics in record.baselines.items():
            values.update({f"baseline.{slug(bname)}.{k}": v
                           for k, v in _finite(bmetrics).items()})
        board = record.board
        p = board.primary
        for standing in board.standings:
            key = f"leaderboard.{slug(standing.candidate.name)}"
            values.update({f"{key}.{p}_mean": standing.mean(p), f"{key}.{p}_sd":
                           standing.spread(p), f"{key}.log_loss_mean": standing.mean("log_loss")})
            values.update({f"{key}.{p}_window{k + 1}": fold[p]
                           for k, fold in enumerate(standing.folds)})
        mlflow.log_metrics(_finite(values))
        # mlflow types its argument dict[str, Any], which a TypedDict is not (it is closed)
        mlflow.log_dict(dict[str, Any](board.as_dict()), "leaderboard.json")
        plot_reliability(record.curves, tmp_path / "reliability.png",
                         f"{model.domain}: reliability")
        mlflow.log_artifact(str(tmp_path / "reliability.png"))
        mlflow.log_text(record.model_card, "model_card.md")
        mlflow.log_dict(record.evaluation, "evaluation.json")
        model_dir = model.save(tmp_path / "tracer")
        if model.kind == "linear":
            mlflow.log_artifacts(str(model_dir), "tracer")
            model_uri = f"runs:/{run.info.run_id}/tracer"
        else:
            import xgboost as xgb
            from mlflow.models import infer_signature

            signature = infer_signature(sample, sample_p)
            info = mlflow.xgboost.log_model(
                model.booster, name="model", signature=signature, model_format="ubj",
                pip_requirements=[f"xgboost-cpu=={xgb.__version__}"],
                extra_files=[str(model_dir / "state.json")])
            model_uri = info.model_uri
        mlflow_run_id = run.info.run_id
        version = store.register(record.name, model_uri, mlflow_run_id)
    return mlflow_run_id, version
