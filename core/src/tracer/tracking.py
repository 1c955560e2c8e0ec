"""Model tracking and the model registry on MLflow.

A booster is logged as an MLflow XGBoost model (native UBJ format, an input signature,
pinned requirements so nothing is inferred in a subprocess) with the Tracer feature state
riding along as ``extra_files/state.json``; a linear model is logged as the Tracer folder
itself (``tracer/state.json``: coefficients, means and scales as JSON numbers).
Registered models are named ``<domain namespace>.<template>`` (or
``<tenant>.<namespace>.<template>``); aliases ``champion`` and ``challenger`` decide what
serves.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tracer.errors import NotFoundError
from tracer.model import BOOSTER_FILE, STATE_FILE, TracerModel

if TYPE_CHECKING:
    from tracer.selection import LeaderboardDict
    from tracer.settings import Settings

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous-champion"


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    run_id: str
    aliases: list[str]
    metrics: dict[str, float]
    tags: dict[str, str]
    created_at: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ModelStore:
    """MLflow tracking + registry, configured from the one settings object."""

    def __init__(self, settings: Settings) -> None:
        import mlflow
        from mlflow import MlflowClient

        # MLflow narrates migrations and environment guesses on stderr; Tracer reports its
        # own progress and turns real failures into errors.
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        settings.ensure_home()
        self.settings = settings
        self.uri = settings.tracking_uri
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._cache: dict[tuple[str, int], TracerModel] = {}
        self._lock = threading.Lock()

    # -- experiments and runs -----------------------------------------------------------

    def experiment_id(self, name: str) -> str:
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        if self.uri.startswith(("http://", "https://")):
            # a tracking server keeps the artifacts (``mlflow server --serve-artifacts``):
            # its default root, so no host writes a path only it can read
            return self.client.create_experiment(name)
        location = (self.settings.artifact_root / name).as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    # -- registry ----------------------------------------------------------------------

    def version(self, name: str, version: int) -> VersionInfo:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version(name, str(version))
        except MlflowException:
            raise NotFoundError(f"model {name} has no version {version}", model=name) from None
        return self._info(mv)

    def alias(self, name: str, alias: str) -> VersionInfo | None:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None
        return self._info(mv)

    def register(self, name: str, model_uri: str, run_id: str) -> int:
        """Add a version of registered model ``name`` (created on first use)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name)
        # a logged model's URI (models:/m-…) names its id; a tracking server checks both
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") \
            else None
        return int(self.client.create_model_version(name, model_uri, run_id=run_id,
                                                    model_id=model_id).version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    def tag_version(self, name: str, version: int, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(name, str(version), key, str(value))

    def versions(self, name: str) -> list[VersionInfo]:
        from mlflow.exceptions import MlflowException

        try:
            aliases = self.client.get_registered_model(name).aliases or {}
        except MlflowException:
            return []
        by_version: dict[int, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(int(version), []).append(alias)
        found = self.client.search_model_versions(f"name = '{name}'")
        infos = []
        for mv in found:
            info = self._info(mv)
            infos.append(VersionInfo(**{**info.__dict__,
                                        "aliases": sorted(by_version.get(info.version, []))}))
        return sorted(infos, key=lambda v: v.version)

    def leaderboard(self, name: str, version: int) -> LeaderboardDict | None:
        """The candidate leaderboard the run behind ``version`` logged (None before there
        was one)."""
        import mlflow
        from mlflow.exceptions import MlflowException

        info = self.version(name, version)
        try:
            board = mlflow.artifacts.load_dict(f"runs:/{info.run_id}/leaderboard.json")
        except (MlflowException, OSError):
            return None
        return cast("LeaderboardDict", board)  # the JSON Leaderboard.as_dict wrote

    def model_names(self, prefix: str = "") -> list[str]:
        names = [m.name for m in self.client.search_registered_models()]
        return sorted(n for n in names if n.startswith(prefix))

    def _info(self, mv: Any) -> VersionInfo:
        metrics = {}
        if mv.run_id:
            metrics = dict(self.client.get_run(mv.run_id).data.metrics)
        return VersionInfo(name=mv.name, version=int(mv.version), run_id=mv.run_id or "",
                           aliases=list(getattr(mv, "aliases", []) or []), metrics=metrics,
                           tags=dict(mv.tags or {}), created_at=int(mv.creation_timestamp))

    # -- loading -----------------------------------------------------------------------

    def load(self, name: str, version: int) -> TracerModel:
        """Load a registered version (native booster or linear numbers + JSON state), cached
        in memory."""
        key = (name, int(version))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        import mlflow

        target = self.settings.home / "cache" / "models" / name / str(version)
        if not (target / STATE_FILE).exists():
            with tempfile.TemporaryDirectory(dir=self.settings.home) as tmp:
                local = Path(mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}", dst_path=tmp))
                target.parent.mkdir(parents=True, exist_ok=True)
                staged = Path(tmp) / "staged"
                staged.mkdir()
                # a booster is an MLflow XGBoost model with the state in extra_files; a
                # linear model is the Tracer folder itself (state.json holds its numbers)
                if (local / BOOSTER_FILE).exists():
                    shutil.copy(local / BOOSTER_FILE, staged / BOOSTER_FILE)
                state = local / "extra_files" / STATE_FILE
                shutil.copy(state if state.exists() else local / STATE_FILE,
                            staged / STATE_FILE)
                if not target.exists():
                    staged.rename(target)
        model = TracerModel.load(target)
        with self._lock:
            self._cache[key] = model
        return model

    def load_alias(self, name: str, alias: str = CHAMPION) -> tuple[VersionInfo, TracerModel]:
        info = self.alias(name, alias)
        if info is None:
            raise NotFoundError(f"model {name} has no {alias}; train it first "
                                f"(tracer train)", model=name)
        return info, self.load(name, info.version)
