"""What a model version's training run logged, for the console: the model card (metrics
next to the baselines, leaderboard, calibration numbers) and the reliability plot."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tracer.tracking import CHAMPION, ModelStore


def champion_of(store: ModelStore, name: str) -> Any:
    try:
        return store.alias(name, CHAMPION)
    except Exception:  # no registered model of that name yet  # noqa: BLE001
        return None


def model_card(store: ModelStore, run_id: str) -> str | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/model_card.md")
    except (MlflowException, OSError):
        return None


def reliability_png(store: ModelStore, run_id: str) -> bytes | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"runs:/{run_id}/reliability.png", dst_path=tmp)
        except (MlflowException, OSError):
            return None
        return Path(path).read_bytes()
