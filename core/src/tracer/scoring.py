"""Scoring records with a registered model version: probability, label, reasons.

The answer for each record is shaped for people and AI agents alike: probability, label at
the model's decision threshold, base rate, ranked factors with sentences, a summary, and
the model name and version that answered. :class:`Scorer` is one loaded version (the API
keeps champions' scorers warm, ``tracer.api.champions``); :func:`scorer_for` loads one for a
domain (and tenant), and :func:`score_frame` / :func:`score_file` score whole tables, for
the CLI, the conformance kit and certification.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer.domain import CostModel, Domain, Factor, FeatureState, Prediction
from tracer.errors import PluginError
from tracer.explain import TOP_FACTORS
from tracer.features import array_features, compute_features
from tracer.lifecycle import model_name_for
from tracer.records import as_dicts, read_table, validate_records
from tracer.runner import tenant_scope
from tracer.tracking import CHAMPION, ModelStore

if TYPE_CHECKING:
    from pathlib import Path

    from tracer.host import PluginHost
    from tracer.model import TracerModel


class Scorer:
    """One loaded model version of one domain, ready to score and explain."""

    def __init__(self, host: PluginHost, domain: Domain, model: TracerModel, name: str,
                 version: int, tenant: str | None = None) -> None:
        self.host, self.domain, self.model = host, domain, model
        self.name, self.version, self.tenant = name, version, tenant
        self.state = FeatureState(fitting=False, values=model.state.values)
        costs = model.info.get("costs")
        self.costs = CostModel(**costs) if costs else None

    def score(self, records: pd.DataFrame, *, explain: bool = True,
              top: int = TOP_FACTORS, raw: list[dict[str, Any]] | None = None
              ) -> list[dict[str, Any]]:
        """Answers for validated records, in order (plugin calls in the tenant's runner).
        ``raw``: the records as ``as_dicts(records)``, when the caller has them already."""
        with tenant_scope(self.tenant):
            return self._score(records, explain, top, raw)

    def _score(self, records: pd.DataFrame, explain: bool, top: int,
               raw: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        matrix = array_features(self.host, self.domain, records, self.state,
                                self.model.feature_names)
        if matrix is None:
            features = compute_features(self.host, self.domain, records, self.state)
            matrix = self.model.matrix(features)  # converted once: scored, explained, quoted
        if explain:
            contribs, bias = self.model.contributions(matrix)
            logits = contribs.sum(axis=1) + bias
        else:
            logits = self.model.margin(matrix)
        probs = 1.0 / (1.0 + np.exp(-logits))
        names = self.model.feature_names
        feature_rows = matrix.astype(np.float64)
        raw = as_dicts(records) if raw is None else raw
        answers, predictions = [], []
        for i, p in enumerate(probs):
            label = int(p >= self.model.threshold)
            answer: dict[str, Any] = {
                "probability": float(p), "label": label,
                "threshold": self.model.threshold, "base_rate": self.model.base_rate,
                "model": {"name": self.name, "version": self.version,
                          "domain": self.domain.name},
            }
            cost = self._expected_cost(float(p), raw[i])
            if cost is not None:
                answer["expected_cost"] = cost
            if explain:
                predictions.append(Prediction(
                    record=raw[i],
                    features=dict(zip(names, feature_rows[i].tolist(), strict=True)),
                    contributions=dict(zip(names, contribs[i].tolist(), strict=True)),
                    bias=float(bias[i]),
                    probability=float(p), label=label, threshold=self.model.threshold,
                    base_rate=self.model.base_rate, state=self.state, expected_cost=cost))
                answer["bias"] = float(bias[i])
            answers.append(answer)
        if explain:  # one call for the batch: a runner's plugin answers in one round trip
            explanations = self.host.explain_all(self.domain, predictions)
            for answer, explanation in zip(answers, explanations, strict=True):
                if not hasattr(explanation, "factors"):
                    raise PluginError(f"tracer_explain for {self.domain.name} returned "
                                      f"{type(explanation).__name__}, expected Explanation")
                answer["factors"] = [_factor(f) for f in explanation.factors[:top]]
                answer["summary"] = explanation.summary
        return answers

    def _expected_cost(self, p: float, record: dict[str, Any]) -> dict[str, float] | None:
        c = self.costs
        if c is None:
            return None
        miss = float(record.get(c.false_negative_column, 0.0)) if c.false_negative_column \
            else c.false_negative
        return {"act": (1 - p) * c.false_positive + p * c.true_positive, "do_not_act": p * miss}


def _factor(factor: Any) -> dict[str, Any]:
    """A factor as JSON (``dataclasses.asdict`` deep-copies; a third of explaining a row)."""
    if type(factor) is Factor:
        return {"feature": factor.feature, "value": factor.value,
                "contribution": factor.contribution, "direction": factor.direction,
                "sentence": factor.sentence}
    return asdict(factor)


# -- loading a version, scoring whole tables -------------------------------------------------


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
                top: int = 3) -> tuple[list[dict[str, Any]], pd.DataFrame]:
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
               top: int = 3) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    frame = read_table(path)  # a missing or unreadable file is the first thing to say
    scorer = scorer_for(host, store, domain_name, tenant=tenant, version=version)
    return score_frame(scorer, frame, source=str(path), top=top)
