"""Scoring whole files or frames with a registered model version."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from tracer.lifecycle import model_name_for
from tracer.records import read_table, validate_records
from tracer.serving import Scorer
from tracer.tracking import CHAMPION, ModelStore

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.host import PluginHost


def scorer_for(host: PluginHost, store: ModelStore, domain_name: str, *,
               tenant: str | None = None, version: int | None = None) -> Scorer:
    domain = host.domain(domain_name)
    name = model_name_for(domain, tenant)
    if version is None:
        info, model = store.load_alias(name, CHAMPION)
        version = info.version
    else:
        store.version(name, version)
        model = store.load(name, version)
    return Scorer(host, domain, model, name, version, tenant)


def score_frame(scorer: Scorer, frame: pd.DataFrame, source: str = "records",
                top: int = 3) -> tuple[list[dict], pd.DataFrame]:
    """Answers for every row (in order) and a flat table of them."""
    records, _ = validate_records(scorer.domain, frame, source=source)
    answers = scorer.score(records, top=top)
    flat = pd.DataFrame({
        "probability": [a["probability"] for a in answers],
        "label": [a["label"] for a in answers],
    })
    for k in range(top):
        flat[f"factor_{k + 1}"] = [a["factors"][k]["sentence"] if len(a["factors"]) > k
                                   else "" for a in answers]
    flat["summary"] = [a["summary"] for a in answers]
    flat["model_version"] = scorer.version
    return answers, flat


def score_file(host: PluginHost, store: ModelStore, domain_name: str, path: str | Path, *,
               tenant: str | None = None, version: int | None = None,
               top: int = 3) -> tuple[list[dict], pd.DataFrame]:
    frame = read_table(path)  # a missing or unreadable file is the first thing to say
    scorer = scorer_for(host, store, domain_name, tenant=tenant, version=version)
    return score_frame(scorer, frame, source=str(path), top=top)
