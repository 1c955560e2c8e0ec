"""The plugin contract: every hook a Tracer plugin can implement.

One short docstring per hook; the long story, with examples, is ``docs/hooks.md``,
one section per hook titled with its exact signature (a test holds the two together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import pluggy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import typer
    import xgboost as xgb
    from fastapi import FastAPI
    from rich.console import Console

    from tracer.candidates import Candidate
    from tracer.domain import Domain, Explanation, FeatureState, Prediction
    from tracer.settings import Settings

PROJECT = "tracer"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class MigrationTree(TypedDict):
    """One Alembic tree a plugin adds to the platform database (``tracer_migrations``)."""

    script_location: str  # the directory holding env.py and versions/
    version_table: str  # the tree's own alembic version table, unique per tree


@hookspec
def tracer_domains() -> list[Domain]:
    """Return the domain templates this plugin provides."""


@hookspec
def tracer_features(domain: Domain, records: pd.DataFrame, state: FeatureState) -> pd.DataFrame:
    """Turn validated records of ``domain`` into a numeric feature frame, one row per record.

    Called only on the plugin that owns ``domain`` and on add-on plugins that own no
    domain; the frames are joined column-wise. Learn from records only when
    ``state.fitting`` is true (the training part), and store what you learned in
    ``state.values``.
    """


@hookspec
def tracer_features_array(domain: Domain, columns: list[str], values: np.ndarray,
                          state: FeatureState) -> tuple[list[str], np.ndarray]:
    """Optional fast path of ``tracer_features`` for records whose fields are all numbers.

    ``values`` is a float64 matrix, one row per record, its columns the domain's fields in
    ``columns`` order. Return the feature names and a matrix equal to what
    ``tracer_features`` returns for the same rows. Serving uses it for small batches when
    every plugin computing the domain's features implements it (a one-row pandas frame
    costs more than the model); the conformance kit checks both paths agree.
    """


@hookspec(firstresult=True)
def tracer_train(domain: Domain, features: pd.DataFrame, labels: np.ndarray,
                 weights: np.ndarray | None, params: dict[str, Any]) -> xgb.Booster:
    """Train and return an XGBoost booster (binary:logistic) on the training features.

    The built-in XGBoost trainer answers when the domain brings no trainer.
    """


@hookspec(firstresult=True)
def tracer_explain(domain: Domain, prediction: Prediction) -> Explanation:
    """Turn a scored record's contributions into ranked factors with sentences and a summary.

    The built-in explainer answers with generic sentences when the domain brings none.
    """


@hookspec
def tracer_cli(cli: typer.Typer) -> None:
    """Add commands (or sub-``Typer`` groups) to the ``tracer`` command line."""


@hookspec
def tracer_routes(app: FastAPI) -> None:
    """Add routes (``app.include_router``) to the API before it starts serving."""


@hookspec
def tracer_migrations() -> list[MigrationTree]:
    """Return Alembic migration trees to apply to the platform database.

    Each item is ``{"script_location": <path>, "version_table": <name>}``.
    """


@hookspec
def tracer_demo(settings: Settings, console: Console) -> None:
    """Run this plugin's part of ``tracer demo`` after the core steps (print with ``console``)."""


@hookspec
def tracer_candidates(domain: Domain) -> list[Candidate | dict[str, Any]]:
    """Return extra candidates (``tracer.candidates.Candidate`` or dicts) for the leaderboard.

    Called only on the plugin that owns ``domain``. The platform always compares its own
    candidates (logistic regression, a small XGBoost) and the domain's trainer.
    """
