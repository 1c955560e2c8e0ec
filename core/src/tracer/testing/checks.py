"""The conformance checks, as plain functions a test (or a certifier) can call.

Each check raises ``ConformanceError`` with a message that names the plugin, the hook or
the file at fault and says what to change. ``ConformanceSuite`` runs them as pytest tests;
calling them directly is how the kit tests itself on deliberately broken plugins.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import pandas as pd

    from tracer.domain import Domain
    from tracer.host import PluginHost
    from tracer.scoring import Scorer


class ConformanceError(AssertionError):
    """A plugin breaks the Tracer contract; the message says where and how to fix it."""


#: hooks a domain plugin must implement; the rest have built-in defaults
REQUIRED_HOOKS = ("tracer_domains", "tracer_features")


def spec_argnames(host: PluginHost, hook: str) -> tuple[str, ...]:
    return tuple(getattr(host.pm.hook, hook).spec.argnames)


def check_hooks(host: PluginHost, plugin_name: str) -> list[str]:
    """The plugin loaded, implements the required hooks, each with the spec's arguments.

    The host passes each implementation, by name, only the arguments it declares (pluggy's
    ``HookImpl.argnames``), so an implementation may take fewer than the spec — that is how
    a spec grows without breaking published plugins — but never one the spec lacks, nor
    ``*args``. Returns the hooks the plugin implements.
    """
    record = host.records.get(plugin_name)
    if record is None or record.status != "loaded":
        reason = record.error if record else "it is not registered with this host"
        raise ConformanceError(f"plugin {plugin_name!r} did not load: {reason}")
    specs = {name for name in dir(host.pm.hook) if name.startswith("tracer_")}
    # every tracer_* attribute: (marked as a hook?, argument names, takes *args/**kwargs?)
    seen = _attributes(host, plugin_name, record)
    implemented = {h: v for h, v in seen.items() if v[0] and h in specs}
    for hook in REQUIRED_HOOKS:
        if hook not in implemented:
            args = ", ".join(spec_argnames(host, hook))
            raise ConformanceError(f"plugin {plugin_name!r} does not implement {hook}({args}); "
                                   "a domain plugin needs it (see docs/hooks.md)")
    for hook, (_, names, varargs) in sorted(implemented.items()):
        wanted = spec_argnames(host, hook)
        if varargs:
            raise ConformanceError(f"plugin {plugin_name!r}: {hook} takes *args or **kwargs; "
                                   f"name its arguments ({', '.join(wanted)})")
        if extra := [n for n in names if n not in wanted]:
            raise ConformanceError(
                f"plugin {plugin_name!r}: {hook}({', '.join(names)}) takes "
                f"{', '.join(extra)}, which {hook}({', '.join(wanted)}) does not pass; "
                "Tracer passes arguments by name, and only the spec's")
    for attribute in sorted(set(seen) - set(implemented)):
        if attribute in specs:
            raise ConformanceError(f"plugin {plugin_name!r}: {attribute} has no @hookimpl "
                                   "marker, so Tracer never calls it")
        close = difflib.get_close_matches(attribute, sorted(specs), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConformanceError(f"plugin {plugin_name!r}: {attribute} is not a Tracer "
                               f"hook{hint}")
    return sorted(implemented)


def _attributes(host: PluginHost, plugin_name: str,
                record: Any) -> dict[str, tuple[bool, tuple[str, ...], bool]]:
    """The plugin's ``tracer_*`` attributes: in-process by inspection, a runner's plugin
    from what its runner reported (the host only holds a proxy)."""
    if record.trust == "third-party":
        return {name: (bool(s.get("marked")), tuple(s.get("args") or ()),
                       bool(s.get("varargs"))) for name, s in record.hook_signatures.items()}
    plugin = host.pm.get_plugin(plugin_name)
    marked = {caller.name for caller in host.pm.get_hookcallers(plugin) or []
              for impl in caller.get_hookimpls() if impl.plugin is plugin}
    out = {}
    for attribute in dir(plugin):
        function = getattr(plugin, attribute, None)
        if not attribute.startswith("tracer_") or not callable(function):
            continue
        params = list(inspect.signature(function).parameters.values())
        out[attribute] = (attribute in marked,
                          tuple(p.name for p in params
                                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)),
                          any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params))
    return out


def check_domain(domain: Domain) -> dict[str, Any]:
    """The domain's declaration is complete; its record schema is a pydantic model whose
    JSON schema is valid JSON and leaves out the label. Returns the JSON schema."""
    from packaging.version import InvalidVersion, Version
    from pydantic import BaseModel

    from tracer.domain import HIGHER_IS_BETTER

    where = f"domain {domain.name}"
    try:
        Version(domain.version)
    except InvalidVersion:
        raise ConformanceError(f"{where}: version {domain.version!r} is not a PEP 440 "
                               "version (e.g. 1.0.0)") from None
    if domain.primary_metric not in HIGHER_IS_BETTER:
        raise ConformanceError(f"{where}: primary_metric {domain.primary_metric!r} is not one "
                               f"of {sorted(HIGHER_IS_BETTER)}")
    if not math.isfinite(domain.certification_threshold):
        raise ConformanceError(f"{where}: certification_threshold must be a finite number")
    if not (inspect.isclass(domain.record) and issubclass(domain.record, BaseModel)):
        raise ConformanceError(f"{where}: record must be a pydantic model class, got "
                               f"{domain.record!r}")
    try:
        schema = domain.record.model_json_schema()
        json.loads(json.dumps(schema))
    except Exception as exc:
        raise ConformanceError(f"{where}: the record schema has no JSON schema: "
                               f"{type(exc).__name__}: {exc}") from exc
    properties = schema.get("properties", {})
    if schema.get("type") != "object" or not properties:
        raise ConformanceError(f"{where}: the record schema declares no fields")
    if domain.label in properties:
        raise ConformanceError(f"{where}: the record schema contains the label "
                               f"{domain.label!r}; records are what is known before the "
                               "outcome")
    return schema


def check_sample(domain: Domain, sample: pd.DataFrame, rows: int = 20) -> None:
    """The reference data validates against the schema, and the pydantic model accepts it."""
    import pandas as pd
    from pydantic import ValidationError as PydanticError

    from tracer.errors import TracerError
    from tracer.records import validate_records

    try:
        validate_records(domain, sample, source=f"reference data of {domain.name}",
                         require_label=True, require_order=True)
    except TracerError as exc:
        raise ConformanceError(f"domain {domain.name}: {exc}") from exc
    fields = list(domain.record.model_fields)
    for number, row in enumerate(sample[fields].head(rows).to_dict(orient="records"), 1):
        clean = {k: (None if not isinstance(v, str) and pd.isna(v) else v)
                 for k, v in row.items()}
        try:
            domain.record.model_validate(clean)
        except PydanticError as exc:
            raise ConformanceError(f"domain {domain.name}: reference row {number} does not "
                                   f"validate against {domain.record.__name__}: "
                                   f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']}"
                                   ) from exc


def check_features(host: PluginHost, domain: Domain, records: pd.DataFrame,
                   labels: Any) -> pd.DataFrame:
    """Features are numeric, one row per record, deterministic, label-free, JSON state,
    and a record's features do not depend on the other records scored with it."""
    import numpy as np

    from tracer.domain import FeatureState
    from tracer.errors import PluginError
    from tracer.features import compute_features

    where = f"domain {domain.name}"

    def run(frame: pd.DataFrame, state: FeatureState) -> pd.DataFrame:
        try:
            return compute_features(host, domain, frame.reset_index(drop=True), state)
        except PluginError as exc:
            raise ConformanceError(f"{where}: {exc}") from exc

    first_state, second_state = FeatureState(fitting=True), FeatureState(fitting=True)
    first = run(records, first_state)
    second = run(records, second_state)
    if list(first.columns) != list(second.columns) or not np.array_equal(
            first.to_numpy(), second.to_numpy(), equal_nan=True):
        raise ConformanceError(f"{where}: tracer_features gave different features for the "
                               "same records; seed any randomness")
    try:
        state_text = json.dumps(first_state.values, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{where}: the feature state is not plain JSON ({exc}); "
                               "store lists, numbers and strings in state.values") from exc
    if state_text != json.dumps(second_state.values, sort_keys=True, allow_nan=False):
        raise ConformanceError(f"{where}: fitting twice on the same records learned different "
                               "feature state")
    if domain.label in first.columns:
        raise ConformanceError(f"{where}: the features contain the label {domain.label!r}")
    y = np.asarray(labels, dtype=np.float64)
    for column in first.columns:
        values = first[column].to_numpy(dtype=np.float64)
        if np.array_equal(values, y) or np.array_equal(values, 1 - y):
            raise ConformanceError(f"{where}: feature {column!r} equals the label "
                                   f"{domain.label!r} on every record: the label leaks")
    serving = FeatureState(fitting=False, values=json.loads(state_text))
    batch = run(records.head(8), serving)
    for i in range(min(3, len(batch))):
        alone = run(records.iloc[[i]], serving)
        if not np.allclose(alone.to_numpy(), batch.iloc[[i]].to_numpy(), equal_nan=True,
                           rtol=1e-6, atol=1e-6):
            raise ConformanceError(f"{where}: record {i + 1} gets different features alone "
                                   "than in a batch; at serving time records come one by "
                                   "one, so learn only when state.fitting is true")
    if json.dumps(serving.values, sort_keys=True, allow_nan=False) != state_text:
        raise ConformanceError(f"{where}: tracer_features changed the feature state while "
                               "not fitting")
    _check_array_path(host, domain, records.head(8), serving, batch)
    return first


def _check_array_path(host: PluginHost, domain: Domain, records: pd.DataFrame,
                      state: Any, expected: pd.DataFrame) -> None:
    """``tracer_features_array``, where offered, equals the frame path on the same rows."""
    import numpy as np

    from tracer.errors import PluginError
    from tracer.features import array_features

    if not host.implementers("tracer_features_array", domain):
        return
    try:
        fast = array_features(host, domain, records[domain.columns].reset_index(drop=True),
                              state, list(expected.columns))
    except PluginError as exc:
        raise ConformanceError(f"domain {domain.name}: {exc}") from exc
    if fast is not None and not np.allclose(fast, expected.to_numpy(dtype=np.float32),
                                            equal_nan=True, rtol=1e-6, atol=1e-6):
        raise ConformanceError(f"domain {domain.name}: tracer_features_array gives other "
                               "features than tracer_features for the same records")


def check_explanations(scorer: Scorer, records: pd.DataFrame) -> list[dict[str, Any]]:
    """Contributions plus bias add up to logit(probability); the plugin's factors carry
    the model's own contributions, ranked, with a direction and a sentence. Returns the
    JSON answers."""
    import numpy as np

    from tracer.features import compute_features
    from tracer.model import logit

    where = f"domain {scorer.domain.name}"
    plain = scorer.score(records, explain=False)
    answers = scorer.score(records, explain=True, top=len(scorer.model.feature_names))
    features = compute_features(scorer.host, scorer.domain, records, scorer.state)
    contributions, bias = scorer.model.contributions(features)
    probability = np.array([a["probability"] for a in plain])
    gap = np.abs(contributions.sum(axis=1) + bias - logit(probability))
    if gap.max() > 1e-3:
        raise ConformanceError(f"{where}: contributions plus bias miss logit(probability) by "
                               f"{gap.max():.2e} on record {int(gap.argmax()) + 1}")
    names = scorer.model.feature_names
    for i, answer in enumerate(answers):
        json.dumps(answer, allow_nan=False)
        if not answer.get("summary"):
            raise ConformanceError(f"{where}: tracer_explain gave record {i + 1} no summary")
        factors = answer["factors"]
        if not factors:
            raise ConformanceError(f"{where}: tracer_explain gave record {i + 1} no factors")
        row = dict(zip(names, contributions[i], strict=True))
        for factor in factors:
            if factor["feature"] not in row:
                raise ConformanceError(f"{where}: factor {factor['feature']!r} is not a "
                                       f"feature of the model ({', '.join(names[:8])} …)")
            if not math.isclose(factor["contribution"], row[factor["feature"]],
                                rel_tol=1e-6, abs_tol=1e-9):
                raise ConformanceError(
                    f"{where}: factor {factor['feature']!r} reports contribution "
                    f"{factor['contribution']:.4f}, the model says {row[factor['feature']]:.4f}")
            if factor["direction"] != ("up" if factor["contribution"] > 0 else "down"):
                raise ConformanceError(f"{where}: factor {factor['feature']!r} points "
                                       f"{factor['direction']} against its contribution")
            if not isinstance(factor["sentence"], str) or not factor["sentence"].strip():
                raise ConformanceError(f"{where}: factor {factor['feature']!r} has no sentence")
        sizes = [abs(f["contribution"]) for f in factors]
        if sizes != sorted(sizes, reverse=True):
            raise ConformanceError(f"{where}: factors of record {i + 1} are not ranked by the "
                                   "size of their contribution")
    return answers


# -- nothing pickled ---------------------------------------------------------------------

PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".dill", ".sav", ".pt", ".pth", ".ckpt"}
_PICKLE_CODE = re.compile(
    r"^\s*(import|from)\s+(pickle|cPickle|_pickle|dill|cloudpickle|joblib)\b"
    r"|\b(pickle|dill|cloudpickle|joblib)\.(loads?|dumps?)\s*\("
    r"|\bread_pickle\s*\(|\bto_pickle\s*\(|allow_pickle\s*=\s*True|\btorch\.load\s*\(",
    re.MULTILINE)


def _looks_pickled(head: bytes) -> bool:
    # protocols 2-5 open with PROTO (0x80) and the protocol number
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _pickled_content(path: Path) -> str | None:
    import bz2
    import gzip
    import lzma
    import zipfile

    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if _looks_pickled(head):
        return "starts with a pickle header"
    if head.startswith(b"\x93NUMPY") and b"'descr': '|O'" in head:
        return "is a NumPy object array (stored as pickle)"
    openers: dict[bytes, Callable[..., Any]] = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open,
                                                b"\xfd7zXZ": lzma.open}
    for magic, opener in openers.items():
        if head.startswith(magic):
            try:
                with opener(path, "rb") as fh:
                    if _looks_pickled(fh.read(2)):
                        return "holds a compressed pickle"
            except (OSError, EOFError, lzma.LZMAError):
                return None
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if Path(member).suffix in PICKLE_SUFFIXES or member.endswith("data.pkl"):
                        return f"holds {member}"
                    with archive.open(member) as fh:
                        if _looks_pickled(fh.read(2)):
                            return f"holds a pickled member {member}"
        except (zipfile.BadZipFile, OSError):
            return None
    return None


def find_pickles(paths: Iterable[Path]) -> list[str]:
    """Pickle files, pickled content and pickle-loading code under ``paths``."""
    found: list[str] = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            if path.suffix in PICKLE_SUFFIXES:
                found.append(f"{path}: a {path.suffix} file (pickle)")
                continue
            if path.suffix == ".py":
                text = path.read_text(errors="replace")
                for match in _PICKLE_CODE.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path}:{line}: {match.group(0).strip()}")
                continue
            reason = _pickled_content(path)
            if reason:
                found.append(f"{path}: {reason}")
    return found


def check_no_pickles(paths: Iterable[Path], what: str) -> None:
    found = find_pickles(paths)
    if found:
        shown = "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        raise ConformanceError(f"{what} contains pickle, which Tracer never loads: {shown}. "
                               "Store models as XGBoost JSON/UBJ and data as CSV/Parquet/JSON")


def package_files(module_name: str) -> list[Path]:
    """The files of the package (or single module) that defines ``module_name``."""
    import importlib.util

    top = module_name.split(".", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        raise ConformanceError(f"cannot find the module {top!r} of the plugin")
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    return [Path(spec.origin)] if spec.origin else []


# -- no network at import ----------------------------------------------------------------

def check_no_network_at_import(module_name: str, attribute: str | None = None,
                               extra_path: Iterable[str] = ()) -> None:
    """Import the plugin (and call its ``tracer_domains``) in a fresh interpreter where
    every attempt to open a network socket or resolve a name fails and is reported."""
    import os

    env = dict(os.environ)
    path = [*extra_path, *sys.path]
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    command = [sys.executable, "-m", "tracer.testing.netguard", module_name]
    if attribute:
        command.append(attribute)
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()
        detail = " | ".join(lines[-6:]) if lines else f"exit status {done.returncode}"
        raise ConformanceError(f"importing plugin module {module_name!r} "
                               f"{'touched the network' if done.returncode == 3 else 'failed'}"
                               f": {detail}")
