"""A third-party plugin as the host sees it: hook implementations that call its runner.

The host registers a ``RemotePlugin`` with pluggy like any plugin, so the lifecycle, the
scorer and the API do not know the difference. Each hook sends its arguments to the
runner of (distribution, current tenant) and checks everything that comes back before the
platform uses it: frame shape and column names, finite numbers, a real XGBoost booster,
factor fields and sentence lengths. A domain's callables (``load_reference``, the baseline
rule, the sample weights) are runner calls too.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from tracer.domain import Baseline, CostModel, Domain, Explanation, Factor, FeatureState
from tracer.errors import PluginError
from tracer.hookspecs import hookimpl
from tracer.runner import current_tenant, protocol
from tracer.runner.pool import PLATFORM_TENANT, Pool, RunnerSpec, exchange
from tracer.runner.records import record_model

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from tracer.settings import Settings

MAX_FEATURES = 10_000
MAX_NAME = 200
MAX_SENTENCE = 500
MAX_SUMMARY = 1_000
MAX_CANDIDATES = 8


class Channel:
    """Calls into the runners of one distribution, with the host's checks around them."""

    def __init__(self, settings: Settings, pool: Pool, spec: RunnerSpec,
                 gate: Callable[[], None]) -> None:
        self.settings, self.pool, self.spec, self.gate = settings, pool, spec, gate

    def call(self, header: dict[str, Any], buffers: list[Any], *, seconds: float | None = None,
             what: str) -> tuple[dict[str, Any], list[Any]]:
        self.gate()  # revoked or quarantined: refuse before any plugin code runs
        tenant = current_tenant.get() or PLATFORM_TENANT
        for _ in range(3):  # a runner may die between the pool handing it out and our turn
            runner = self.pool.get(self.spec, tenant)
            with runner.session() as usable:  # one call at a time on a runner's pipes
                if usable:
                    return exchange(runner, header, buffers,
                                    seconds or self.settings.runner.call_seconds, what)
        raise PluginError(f"plugin {self.spec.distribution}: its runner keeps dying before "
                          "it can take a call", plugin=self.spec.distribution)

    def frame(self, spec: dict[str, Any], buffers: list[Any], what: str) -> pd.DataFrame:
        try:
            return protocol.decode_frame(spec, buffers)
        except protocol.ProtocolError as exc:
            raise PluginError(f"plugin {self.spec.distribution}: {what} returned a bad frame: "
                              f"{exc}", plugin=self.spec.distribution) from None

    def values(self, reply: dict[str, Any], buffers: list[Any], rows: int, what: str) -> np.ndarray:
        try:
            values = protocol.decode_array(reply["values"], buffers).astype(np.float64)
        except (protocol.ProtocolError, KeyError) as exc:
            raise PluginError(f"plugin {self.spec.distribution}: {what}: {exc}") from None
        if values.shape != (rows,) or not np.isfinite(values).all():
            raise PluginError(f"plugin {self.spec.distribution}: {what} must return {rows} "
                              f"finite numbers, got shape {values.shape}")
        return values


def _state_spec(state: FeatureState, buffers: list[Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"fitting": state.fitting, "values": state.values}
    for name in ("labels", "weights"):
        value = getattr(state, name)
        if value is not None:
            spec[name] = protocol.encode_array(np.asarray(value), buffers)
    return spec


def build_domain(channel: Channel, d: dict[str, Any]) -> Domain:
    name = str(d["name"])

    def load_reference() -> pd.DataFrame:
        reply, buffers = channel.call({"op": "load_reference", "domain": name}, [],
                                      seconds=channel.settings.runner.train_seconds,
                                      what="load_reference")
        return channel.frame(reply, buffers, "load_reference")

    def ask(op: str) -> Callable[[pd.DataFrame], np.ndarray]:
        def rule(records: pd.DataFrame) -> np.ndarray:
            buffers: list[Any] = []
            header = {"op": op, "domain": name,
                      "records": protocol.encode_frame(records.reset_index(drop=True), buffers)}
            reply, out = channel.call(header, buffers, what=op,
                                      seconds=channel.settings.runner.train_seconds)
            return channel.values(reply, out, len(records), op)
        return rule

    try:
        return Domain(
            name=name, version=str(d["version"]), title=str(d["title"]),
            record=record_model(d["record_schema"], str(d.get("record_name") or ""), name),
            label=str(d["label"]), order_by=str(d["order_by"]), load_reference=load_reference,
            task=d.get("task", "binary"), primary_metric=d.get("primary_metric", "roc_auc"),
            certification_threshold=float(d.get("certification_threshold", 0.5)),
            positive_label=d.get("positive_label", 1),
            outcome=str(d.get("outcome") or "the event happens"),
            baseline=Baseline(str(d["baseline"]), ask("baseline")) if d.get("baseline")
            else None,
            weight=ask("weight") if d.get("weight") else None,
            cost_model=CostModel(**d["cost_model"]) if d.get("cost_model") else None,
            extra_metrics=tuple(d.get("extra_metrics") or ()),
            train_params=dict(d.get("train_params") or {}),
            description=str(d.get("description") or ""), tags=tuple(d.get("tags") or ()),
            license=str(d.get("license") or "Apache-2.0"))
    except PluginError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise PluginError(f"domain {name!r} from {channel.spec.distribution}: {exc}") from None


def remote_plugin(channel: Channel, record: dict[str, Any]) -> SimpleNamespace:
    """A pluggy-registrable object with a proxy for each hook the plugin implements."""
    domains = [build_domain(channel, d) for d in record["domains"]]
    plugin_name = record["name"]
    dist = channel.spec.distribution
    hooks: dict[str, Any] = {}

    @hookimpl
    def tracer_domains() -> list[Domain]:
        return list(domains)

    hooks["tracer_domains"] = tracer_domains

    if "tracer_features" in record["hooks"]:
        @hookimpl
        def tracer_features(domain: Domain, records: pd.DataFrame,
                            state: FeatureState) -> pd.DataFrame | None:
            buffers: list[Any] = []
            header = {"op": "hook", "hook": "tracer_features", "plugin": plugin_name,
                      "domain": domain.name, "state": _state_spec(state, buffers),
                      "records": protocol.encode_frame(records.reset_index(drop=True),
                                                       buffers)}
            seconds = channel.settings.runner.train_seconds if state.fitting else None
            reply, out = channel.call(header, buffers, seconds=seconds, what="tracer_features")
            if reply.get("none"):
                return None
            frame = channel.frame(reply, out, "tracer_features")
            _check_features(dist, frame, len(records))
            if state.fitting and isinstance(reply.get("values"), dict):
                state.values.update(reply["values"])
            return frame

        hooks["tracer_features"] = tracer_features

    if "tracer_train" in record["hooks"]:
        @hookimpl
        def tracer_train(domain: Domain, features: pd.DataFrame, labels: Any, weights: Any,
                         params: dict[str, Any]) -> Any:
            import xgboost as xgb

            buffers: list[Any] = []
            header = {"op": "hook", "hook": "tracer_train", "plugin": plugin_name,
                      "domain": domain.name, "params": params,
                      "features": protocol.encode_frame(features, buffers),
                      "labels": protocol.encode_array(np.asarray(labels), buffers),
                      "weights": None if weights is None else
                      protocol.encode_array(np.asarray(weights, dtype=np.float64), buffers)}
            reply, out = channel.call(header, buffers, what="tracer_train",
                                      seconds=channel.settings.runner.train_seconds)
            if reply.get("none"):
                return None
            booster = xgb.Booster()
            try:
                booster.load_model(bytearray(out[int(reply["booster"])]))
            except Exception as exc:  # noqa: BLE001 -- XGBoost's own parse errors
                raise PluginError(f"plugin {dist}: tracer_train returned bytes that are not "
                                  f"an XGBoost model: {exc}", plugin=dist) from None
            return booster

        hooks["tracer_train"] = tracer_train

    if "tracer_explain" in record["hooks"]:
        def explain_many(domain: Domain, predictions: list[Any]) -> list[Explanation | None]:
            if not predictions:
                return []
            state = predictions[0].state
            shared = all(p.state is state for p in predictions)
            header = {"op": "hook", "hook": "tracer_explain", "plugin": plugin_name,
                      "domain": domain.name, "state": state.values if shared else None,
                      "predictions": [_prediction(p, with_state=not shared)
                                      for p in predictions]}
            reply, _ = channel.call(header, [], what="tracer_explain")
            answers = reply.get("explanations")
            if not isinstance(answers, list) or len(answers) != len(predictions):
                raise PluginError(f"plugin {dist}: tracer_explain answered "
                                  f"{len(answers) if isinstance(answers, list) else 'no'} "
                                  f"explanations for {len(predictions)} predictions")
            return [None if a is None else _explanation(dist, a, p.contributions)
                    for a, p in zip(answers, predictions, strict=True)]

        @hookimpl
        def tracer_explain(domain: Domain, prediction: Any) -> Explanation | None:
            return explain_many(domain, [prediction])[0]

        # one round trip for a batch: PluginHost.explain_all calls ``many`` when it is set
        tracer_explain.many = explain_many  # type: ignore[attr-defined]
        hooks["tracer_explain"] = tracer_explain

    if "tracer_candidates" in record["hooks"]:
        @hookimpl
        def tracer_candidates(domain: Domain) -> list[dict[str, Any]]:
            reply, _ = channel.call({"op": "hook", "hook": "tracer_candidates",
                                     "plugin": plugin_name, "domain": domain.name}, [],
                                    what="tracer_candidates")
            found = reply.get("candidates")
            if not isinstance(found, list) or len(found) > MAX_CANDIDATES:
                raise PluginError(f"plugin {dist}: tracer_candidates must return at most "
                                  f"{MAX_CANDIDATES} candidates", plugin=dist)
            # the platform's own fitters run in the host: a third-party plugin may only
            # propose its own trainer (which runs in its runner) with other params
            for candidate in found:
                if not isinstance(candidate, dict) or candidate.get("kind") != "trainer":
                    raise PluginError(f"plugin {dist}: a third-party candidate must be of "
                                      f"kind 'trainer' (got {str(candidate)[:80]})",
                                      plugin=dist)
            return found

        hooks["tracer_candidates"] = tracer_candidates

    return SimpleNamespace(__name__=f"runner:{dist}:{plugin_name}", **hooks)


def _prediction(p: Any, *, with_state: bool) -> dict[str, Any]:
    out = {"record": _jsonable(p.record), "features": p.features,
           "contributions": p.contributions, "bias": p.bias, "probability": p.probability,
           "label": p.label, "threshold": p.threshold, "base_rate": p.base_rate,
           "expected_cost": p.expected_cost}
    if with_state:
        out["state"] = p.state.values
    return out


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value if value is None or isinstance(value, str | int | float | bool) \
            else str(value)
    return out


def _check_features(dist: str, frame: pd.DataFrame, rows: int) -> None:
    if len(frame) != rows:
        raise PluginError(f"plugin {dist}: tracer_features returned {len(frame)} rows for "
                          f"{rows} records", plugin=dist)
    if frame.shape[1] > MAX_FEATURES:
        raise PluginError(f"plugin {dist}: {frame.shape[1]} feature columns (limit "
                          f"{MAX_FEATURES})", plugin=dist)
    for column in frame.columns:
        if not column or len(column) > MAX_NAME or not column.isprintable():
            raise PluginError(f"plugin {dist}: feature name {column[:40]!r} is empty, over "
                              f"{MAX_NAME} characters or not printable", plugin=dist)
    floats = frame.select_dtypes(include="floating")
    if floats.shape[1] and np.isinf(floats.to_numpy()).any():  # one pass over the block
        column = next(c for c in floats.columns if np.isinf(floats[c].to_numpy()).any())
        raise PluginError(f"plugin {dist}: feature {column!r} has infinite values "
                          "(NaN means missing; infinity is not allowed)", plugin=dist)


def _explanation(dist: str, data: Any, contributions: dict[str, float]) -> Explanation:
    def bad(why: str) -> PluginError:
        return PluginError(f"plugin {dist}: tracer_explain returned {why}", plugin=dist)

    if not isinstance(data, dict) or not isinstance(data.get("factors"), list):
        raise bad("no factors")
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip() or len(summary) > MAX_SUMMARY:
        raise bad(f"a summary that is empty or over {MAX_SUMMARY} characters")
    if len(data["factors"]) > len(contributions) + 1:
        raise bad(f"{len(data['factors'])} factors for {len(contributions)} features")
    factors = []
    for item in data["factors"]:
        try:
            feature, sentence = item["feature"], item["sentence"]
            contribution = float(item["contribution"])
            direction = item["direction"]
            value = item.get("value")
        except (KeyError, TypeError, ValueError):
            raise bad("a factor without feature, contribution, direction or sentence") \
                from None
        if not isinstance(feature, str) or len(feature) > MAX_NAME:
            raise bad(f"a factor feature that is not a short string: {str(feature)[:40]!r}")
        if not isinstance(sentence, str) or not sentence.strip() \
                or len(sentence) > MAX_SENTENCE:
            raise bad(f"factor {feature!r}: a sentence empty or over {MAX_SENTENCE} characters")
        if direction not in ("up", "down") or not math.isfinite(contribution):
            raise bad(f"factor {feature!r}: direction {direction!r} / contribution "
                      f"{contribution!r}")
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise bad(f"factor {feature!r}: a value that is not a JSON scalar")
        factors.append(Factor(feature, value, contribution, direction, sentence))
    return Explanation(factors=factors, summary=summary)
