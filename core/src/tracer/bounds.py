"""What a training job may ask for: trainer parameters and rows within the settings' bounds.

A job asking for more boosting rounds (``num_boost_round``, ``n_estimators``, …) than
``training.max_rounds``, a deeper tree than ``training.max_depth`` or more dataset rows than
``training.max_rows`` is refused before it is created (422, naming the field and the bound).
The worker checks the rows again once it has assembled the frame (reference data and
feedback count too); the wall time (``training.max_seconds``) bounds everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tracer.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.settings import Settings

#: the names trainers use for the number of boosting rounds
ROUNDS = ("num_boost_round", "n_estimators", "num_rounds", "nrounds", "num_iterations",
          "iterations", "num_trees")
DEPTH = ("max_depth", "depth")


def check_params(settings: Settings, params: dict[str, Any] | None) -> None:
    """Refuse trainer parameters over the settings' bounds."""
    for names, bound, setting in ((ROUNDS, settings.training.max_rounds,
                                   "training.max_rounds"),
                                  (DEPTH, settings.training.max_depth, "training.max_depth")):
        for name in names:
            value = (params or {}).get(name)
            if isinstance(value, int | float) and value > bound:
                raise ValidationError(f"params.{name} is {value:g}; at most {bound:,} is "
                                      f"allowed ({setting})", field=f"params.{name}",
                                      limit=bound)


def check_rows(s: Session, settings: Settings, tenant_id: str, domain: str,
               dataset_ids: list[str] | None) -> None:
    """Refuse a job whose datasets alone hold more rows than ``training.max_rows``."""
    from tracer.models import Dataset

    query = select(func.coalesce(func.sum(Dataset.rows), 0)).where(
        Dataset.tenant_id == tenant_id, Dataset.domain == domain)
    if dataset_ids is not None:
        query = query.where(Dataset.id.in_(dataset_ids))
    rows = int(s.scalar(query) or 0)
    if rows > settings.training.max_rows:
        raise ValidationError(f"the datasets hold {rows:,} rows; a job may train on at most "
                              f"{settings.training.max_rows:,} (training.max_rows)",
                              field="dataset_ids", limit=settings.training.max_rows)


def check_job(s: Session, settings: Settings, tenant_id: str, domain: str,
              options: dict[str, Any]) -> None:
    check_params(settings, options.get("params"))
    check_rows(s, settings, tenant_id, domain, options.get("dataset_ids"))
