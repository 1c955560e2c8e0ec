"""What would change an answer: the smallest edits of a record that flip the model's label.

Searched against the model, never guessed: every candidate value is scored by the same
``Scorer`` that answers predictions, and a change is reported only once a scored record with
it applied has the other label. Candidate values stay within the range each field had in
the model's training data (``record_ranges``, stored in the model's info at training time).

1. Every numeric field is moved, alone, to each point of its training grid (quantiles); the
   points whose label differs from the current one bracket the smallest flipping edit.
2. Each bracket is narrowed by bisection (whole numbers for integer fields), keeping a
   scored flipping value at every step.
3. If no single field flips the label, fields are combined greedily (the one that moves the
   probability furthest towards the threshold first), then each edit is shrunk back.

Edits of fields behind the answer's top factors are listed first, then by size relative to
the field's training range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer.explain import format_value
from tracer.features import compute_features
from tracer.records import _base_type, frame_from_rows, validate_records
from tracer.runner import tenant_scope

if TYPE_CHECKING:
    from tracer.domain import Domain
    from tracer.scoring import Scorer

#: quantiles of a field's training values that the first pass tries (0 %, 5 %, … 100 %)
GRID_POINTS = 21
BISECTION_STEPS = 12
MAX_COMBINED = 4


def record_ranges(domain: Domain, records: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per numeric record field: training min, max, whole-number or not, and a quantile grid
    (what ``what_would_change`` may propose). The ordering column is not a thing to change."""
    out: dict[str, dict[str, Any]] = {}
    for name, field in domain.record.model_fields.items():
        kind, _ = _base_type(field.annotation)
        if name == domain.order_by or kind not in (int, float) or name not in records:
            continue
        values = pd.to_numeric(records[name], errors="coerce").to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0 or values.min() == values.max():
            continue
        grid = np.quantile(values, np.linspace(0.0, 1.0, GRID_POINTS))
        if kind is int:
            grid = np.round(grid)
        out[name] = {"min": float(values.min()), "max": float(values.max()),
                     "integer": kind is int, "grid": sorted({float(g) for g in grid})}
    return out


_REFERENCE_RANGES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def training_ranges(scorer: Scorer) -> dict[str, dict[str, Any]]:
    """The ranges stored with the model; for a model trained before they were stored, those
    of the domain's reference data."""
    stored = scorer.model.info.get("record_ranges")
    if stored:
        return dict(stored)
    domain = scorer.domain
    key = (domain.name, domain.version)
    if key not in _REFERENCE_RANGES:
        records, _ = validate_records(domain, domain.load_reference(), source="reference data")
        _REFERENCE_RANGES[key] = record_ranges(domain, records)
    return _REFERENCE_RANGES[key]


@dataclass
class Edit:
    field: str
    current: float
    proposed: float

    def as_dict(self, domain: Domain) -> dict[str, Any]:
        spec = domain.record.model_fields[self.field]
        # an integer field's edit is a whole number the record schema accepts as sent back
        shown = int if spec.annotation is int else float
        return {"field": self.field, "from": shown(self.current), "to": shown(self.proposed),
                "description": spec.description}


class Search:
    """One record against one model: probabilities of edited copies, counted."""

    def __init__(self, scorer: Scorer, record: dict[str, Any],
                 ranges: dict[str, dict[str, Any]]) -> None:
        self.scorer, self.domain = scorer, scorer.domain
        self.record = {c: record[c] for c in self.domain.columns}
        self.ranges = {f: r for f, r in ranges.items()
                       if isinstance(self.record.get(f), int | float)}
        self.threshold = scorer.model.threshold
        self.scored = 0

    def probabilities(self, edits: list[list[Edit]], served: bool = False) -> np.ndarray:
        """``served``: computed as an answer is (from contributions), to the last bit; the
        search itself uses the model's margin, equal to about 1e-7."""
        rows = [self._apply(e) for e in edits]
        if not rows:
            return np.empty(0)
        self.scored += len(rows)
        answers = self.scorer.score(frame_from_rows(self.domain, rows), explain=served, top=1)
        return np.array([a["probability"] for a in answers])

    def features_moved(self, fields: list[str]) -> dict[str, set[str]]:
        """Which model features change when each field goes to its training extremes."""
        edits: list[list[Edit]] = [[]]
        for f in fields:
            r = self.ranges[f]
            edits += [[Edit(f, self.record[f], r["min"])], [Edit(f, self.record[f], r["max"])]]
        frame = frame_from_rows(self.domain, [self._apply(e) for e in edits])
        with tenant_scope(self.scorer.tenant):
            features = compute_features(self.scorer.host, self.domain, frame, self.scorer.state)
        values = features.to_numpy(dtype=np.float64)
        names = list(features.columns)
        moved = {}
        for i, f in enumerate(fields):
            rows = values[[1 + 2 * i, 2 + 2 * i]]
            changed = ~np.isclose(rows, values[0]).all(axis=0)
            moved[f] = {names[j] for j in np.flatnonzero(changed)}
        return moved

    def label(self, p: float) -> int:
        return int(p >= self.threshold)

    def _apply(self, edits: list[Edit]) -> dict[str, Any]:
        row = dict(self.record)
        for e in edits:
            row[e.field] = e.proposed
        return row


def _between(r: dict[str, Any], lo: float, hi: float) -> float:
    mid = (lo + hi) / 2
    return float(np.round(mid)) if r["integer"] else mid


def _narrow(search: Search, start: list[Edit], brackets: list[tuple[float, float]],
            label: int) -> list[float]:
    """Bisect each (not flipping, flipping) bracket of the last edit of ``start[i]``."""
    los, his = [b[0] for b in brackets], [b[1] for b in brackets]
    for _ in range(BISECTION_STEPS):
        mids, which = [], []
        for i, edit in enumerate(start):
            r = search.ranges[edit.field]
            mid = _between(r, los[i], his[i])
            if mid not in (los[i], his[i]) and abs(his[i] - los[i]) > 1e-9 * (r["max"] - r["min"]):
                mids.append(mid)
                which.append(i)
        if not mids:
            break
        tries = [[Edit(start[i].field, start[i].current, m)] for i, m in zip(which, mids,
                                                                                strict=True)]
        for i, mid, p in zip(which, mids, search.probabilities(tries), strict=True):
            if search.label(float(p)) != label:
                his[i] = mid
            else:
                los[i] = mid
    return his


def single_edits(search: Search, label: int) -> list[Edit]:
    """The smallest one-field edit per field that flips ``label`` (fields that cannot: none)."""
    tries, owners = [], []
    for f, r in search.ranges.items():
        for g in r["grid"]:
            if g != search.record[f]:
                tries.append([Edit(f, search.record[f], g)])
                owners.append(f)
    probs = search.probabilities(tries)
    best: dict[str, tuple[float, float]] = {}
    by_field: dict[str, list[tuple[float, int]]] = {}
    for f, edit, p in zip(owners, tries, probs, strict=True):
        by_field.setdefault(f, []).append((edit[0].proposed, search.label(float(p))))
    for f, points in by_field.items():
        current = search.record[f]
        flips = [g for g, lab in points if lab != label]
        if not flips:
            continue
        target = min(flips, key=lambda g: abs(g - current))
        # the last grid point (or the current value) before the target that does not flip
        side = [g for g, lab in points if lab == label and
                min(current, target) < g < max(current, target)]
        lo = min(side, key=lambda g: abs(g - target)) if side else float(current)
        best[f] = (lo, target)
    fields = list(best)
    start = [Edit(f, search.record[f], best[f][1]) for f in fields]
    his = _narrow(search, start, [best[f] for f in fields], label)
    return [Edit(f, search.record[f], h) for f, h in zip(fields, his, strict=True)]


def combined_edit(search: Search, label: int) -> list[Edit] | None:
    """Several fields at once, greedily, then each edit shrunk back while the label stays
    flipped; None when even ``MAX_COMBINED`` fields at their extremes do not flip it."""
    toward_one = label == 0
    chosen: list[Edit] = []
    for _ in range(MAX_COMBINED):
        options = [Edit(f, search.record[f], r["max"] if toward_one else r["min"])
                   for f, r in search.ranges.items() if f not in {e.field for e in chosen}]
        options += [Edit(f, search.record[f], r["min"] if toward_one else r["max"])
                    for f, r in search.ranges.items() if f not in {e.field for e in chosen}]
        if not options:
            return None
        probs = search.probabilities([[*chosen, o] for o in options])
        pick = int(np.argmax(probs) if toward_one else np.argmin(probs))
        chosen.append(options[pick])
        if search.label(float(probs[pick])) != label:
            break
    else:
        return None
    for i, edit in enumerate(chosen):  # shrink each edit back towards its current value
        r = search.ranges[edit.field]
        lo, hi = float(edit.current), edit.proposed
        for _ in range(BISECTION_STEPS):
            mid = _between(r, lo, hi)
            if mid in (lo, hi):
                break
            trial = [*chosen[:i], Edit(edit.field, edit.current, mid), *chosen[i + 1:]]
            if search.label(float(search.probabilities([trial])[0])) != label:
                hi = mid
            else:
                lo = mid
        chosen[i] = Edit(edit.field, edit.current, hi)
    return chosen


def sentence(domain: Domain, edits: list[Edit], p: float, threshold: float,
             before: float) -> str:
    parts = []
    for e in edits:
        verb = "raising" if e.proposed > e.current else "lowering"
        description = domain.record.model_fields[e.field].description
        name = f"{e.field} ({description})" if description else e.field
        parts.append(f"{verb} {name} from {format_value(e.current)} to "
                     f"{format_value(e.proposed)}")
    text = " and ".join(parts)
    side = "at or over" if p >= threshold else "under"
    return (f"{text[0].upper()}{text[1:]} would move the probability that "
            f"{domain.outcome} from {before:.3f} to {_near(p, threshold)}, {side} the "
            f"threshold {threshold:.3f}: the label would become {int(p >= threshold)}.")


def _near(p: float, threshold: float) -> str:
    """``p`` with the digits that tell it from the threshold (0.4996, not 0.500)."""
    digits = 3
    while digits < 6 and round(p, digits) == round(threshold, digits):
        digits += 1
    return f"{p:.{digits}f}"


def what_would_change(scorer: Scorer, record: dict[str, Any],
                      ranges: dict[str, dict[str, Any]], top_features: list[str],
                      limit: int = 3) -> dict[str, Any]:
    """The smallest label-flipping changes of ``record`` under ``scorer``'s model."""
    search = Search(scorer, record, ranges)
    before = float(search.probabilities([[]], served=True)[0])
    label = search.label(before)
    moved = search.features_moved(list(search.ranges)) if search.ranges else {}
    options = [[e] for e in single_edits(search, label)] if search.ranges else []
    if not options and search.ranges:
        combined = combined_edit(search, label)
        options = [combined] if combined else []
    top = set(top_features)

    def rank(edits: list[Edit]) -> tuple[bool, float]:
        size = sum(abs(e.proposed - e.current) / (search.ranges[e.field]["max"]
                                                  - search.ranges[e.field]["min"])
                   for e in edits)
        return (not any(moved.get(e.field, set()) & top for e in edits), size)

    options.sort(key=rank)
    options = options[:limit + 2]  # a spare or two, for the check below
    probs = search.probabilities(options, served=True)
    changes: list[dict[str, Any]] = []
    for edits, p in zip(options, probs, strict=True):
        if search.label(float(p)) == label or len(changes) == limit:
            continue  # a hair from the threshold, not flipped as answers are computed
        factors = sorted(set().union(*(moved.get(e.field, set()) for e in edits)))
        changes.append({"edits": [e.as_dict(scorer.domain) for e in edits],
                        "probability": float(p), "label": search.label(float(p)),
                        "factors": factors,
                        "sentence": sentence(scorer.domain, edits, float(p),
                                             search.threshold, before)})
    return {"probability": before, "label": label, "threshold": search.threshold,
            "changes": changes, "fields_searched": len(search.ranges),
            "records_scored": search.scored}
