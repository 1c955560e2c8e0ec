"""``quality.registry-evaluation``: quality on an evaluation set the registry holds.

The publisher's own held-out part is what the plugin ships; a registry may also hold an
evaluation set of its own for a domain (``<home>/registry/evaluation/<prefix>__<name>.csv``,
the record columns plus the outcome in ``__outcome__``). The outcomes never reach the
sandbox: the validator keeps them, the child gets only the records, trains through the
real lifecycle on the plugin's reference data, scores the records and reports the
probabilities, and the validator computes the domain's primary metric against the
certification threshold here, in its own process.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer_registry.certify.report import CheckResult

if TYPE_CHECKING:
    from tracer.settings import Settings

    from tracer_registry.certify.policy import Policy

CHECK = "quality.registry-evaluation"
OUTCOME = "__outcome__"
FOLDER = "registry-evaluation"  # next to the extracted wheel in the sandbox


def slug(domain: str) -> str:
    return domain.replace("/", "__")


def sets_dir(settings: Settings) -> Path:
    return settings.home.resolve() / "registry" / "evaluation"


def load_sets(settings: Settings, domains: list[str]) -> dict[str, pd.DataFrame]:
    """The registry's evaluation sets for ``domains`` (those it holds)."""
    found = {}
    for domain in domains:
        path = sets_dir(settings) / f"{slug(domain)}.csv"
        if path.is_file():
            found[domain] = pd.read_csv(path)
    return found


def withhold(sets: dict[str, pd.DataFrame]) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """(label-free records as CSV for the sandbox, outcomes kept by the validator)."""
    records, outcomes = {}, {}
    for domain, frame in sets.items():
        outcomes[domain] = frame[OUTCOME].to_numpy(dtype=np.float64)
        records[domain] = frame.drop(columns=[OUTCOME]).to_csv(index=False).encode()
    return records, outcomes


# -- in the sandbox child (called from ``conformance``) ------------------------------------

def predict_in_child(host: Any, site: str) -> dict[str, Any]:
    """Train each domain with a registry set and score the set's records."""
    folder = Path(site).parent / FOLDER
    if not folder.is_dir():
        return {}
    from tracer import db
    from tracer.lifecycle import train
    from tracer.records import validate_records
    from tracer.scoring import scorer_for
    from tracer.tracking import ModelStore

    settings = host.settings
    home = settings.home.resolve() / "registry-evaluation"
    store = ModelStore(settings.model_copy(update={"mlflow": settings.mlflow.model_copy(update={
        "tracking_uri": f"sqlite:///{home / 'mlflow.db'}", "artifact_root": home / "mlruns"})}))
    db.upgrade(settings)
    out: dict[str, Any] = {}
    for path in sorted(folder.glob("*.csv")):
        domain = path.stem.replace("__", "/")
        if domain not in host.domains:
            out[domain] = {"error": "the plugin does not provide this domain"}
            continue
        try:
            result = train(host, store, domain)
            scorer = scorer_for(host, store, domain, version=result.version)
            records, _ = validate_records(host.domain(domain), pd.read_csv(
                io.BytesIO(path.read_bytes())))
            answers = scorer.score(records, explain=False)
            out[domain] = {"probabilities": [float(a["probability"]) for a in answers],
                           "decision_threshold": float(scorer.model.threshold)}
        except Exception as exc:  # noqa: BLE001 -- reported as this check's failure
            out[domain] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
    return out


# -- back in the validator -----------------------------------------------------------------

def registry_evaluation_check(outcome: dict[str, Any], policy: Policy,
                              outcomes: dict[str, np.ndarray]) -> CheckResult:
    if not outcomes:  # nothing to measure: informs, never blocks
        return CheckResult(CHECK, "skipped", "warning",
                           "the registry holds no evaluation set for this plugin's domains; "
                           "quality was measured on the publisher's held-out part only", {})
    from tracer.evaluation import METRICS

    reported = (outcome.get("conformance") or {}).get("registry_evaluation") or {}
    domains = outcome.get("domains") or {}
    measured, short = {}, []
    for domain, y in outcomes.items():
        got, meta = reported.get(domain) or {}, domains.get(domain) or {}
        p = np.asarray(got.get("probabilities") or [], dtype=np.float64)
        if "primary_metric" not in meta or len(p) != len(y):
            short.append(f"{domain}: no predictions for the {len(y)} records "
                         f"({got.get('error') or meta.get('error') or 'not reported'})")
            continue
        metric = meta["primary_metric"]
        value = float(METRICS[metric](y, p, None, threshold=got["decision_threshold"]))
        reaches = value >= meta["threshold"] if meta["higher_is_better"] \
            else value <= meta["threshold"]
        measured[domain] = {"metric": metric, "value": value, "threshold": meta["threshold"],
                            "rows": len(y), "held_out_value": meta.get("value")}
        if not reaches:
            short.append(f"{domain}: {metric} {value:.4f} on the registry's {len(y)} records "
                         f"misses the declared {meta['threshold']} (held-out part: "
                         f"{meta.get('value', float('nan')):.4f})")
    return CheckResult(
        CHECK, "failed" if short else "passed", policy.severity(CHECK),
        "; ".join(short) + ". The model does not hold up on data the publisher did not pick"
        if short else "; ".join(f"{d}: {m['metric']} {m['value']:.4f} on the registry's "
                                f"{m['rows']} records reaches {m['threshold']}"
                                for d, m in measured.items()),
        {"domains": measured})
