"""Calling ``tracer_features`` for a domain and checking what plugins return."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tracer.errors import PluginError

if TYPE_CHECKING:
    from tracer.domain import Domain, FeatureState
    from tracer.host import PluginHost


def compute_features(host: PluginHost, domain: Domain, records: pd.DataFrame,
                     state: FeatureState) -> pd.DataFrame:
    """Join every contributing plugin's feature columns into one float frame."""
    parts = host.call("tracer_features", domain, records=records, state=state)
    if not parts:
        raise PluginError(f"no plugin implements tracer_features for domain {domain.name}",
                          domain=domain.name)
    frames: list[pd.DataFrame] = []
    seen: dict[str, str] = {}
    for plugin, frame in parts:
        if not isinstance(frame, pd.DataFrame):
            raise PluginError(f"plugin {plugin!r}: tracer_features returned "
                              f"{type(frame).__name__}, expected a pandas DataFrame",
                              plugin=plugin)
        if len(frame) != len(records):
            raise PluginError(f"plugin {plugin!r}: tracer_features returned {len(frame)} rows "
                              f"for {len(records)} records", plugin=plugin)
        for column in frame.columns:
            if column in seen:
                raise PluginError(f"feature {column!r} comes from both {seen[column]!r} and "
                                  f"{plugin!r}", plugin=plugin)
            if column == domain.label:
                raise PluginError(f"plugin {plugin!r}: features must not contain the label "
                                  f"column {domain.label!r}", plugin=plugin)
            seen[column] = plugin
        non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise PluginError(f"plugin {plugin!r}: features {non_numeric[:5]} are not numeric",
                              plugin=plugin)
        frames.append(frame.reset_index(drop=True))
    out = pd.concat(frames, axis=1) if len(frames) > 1 else frames[0]
    return out.astype(np.float32)


#: Batches up to this size take the array path when a domain offers it (larger ones are
#: cheaper per row through pandas, and the frame path is the reference).
ARRAY_PATH_ROWS = 64


def array_features(host: PluginHost, domain: Domain, records: pd.DataFrame,
                   state: FeatureState, names: list[str]) -> np.ndarray | None:
    """The model's features (``names`` order, float32) through ``tracer_features_array``,
    or None when the frame path must serve: a large batch, a non-numeric record, or a
    feature plugin without the fast path."""
    if len(records) > ARRAY_PATH_ROWS or list(records.columns) != domain.columns:
        return None
    frame_plugins = host.implementers("tracer_features", domain)
    if not frame_plugins or host.implementers("tracer_features_array", domain) != frame_plugins:
        return None
    values = records.to_numpy()  # float only when every column is (cheaper than .dtypes)
    if values.dtype.kind != "f":
        return None
    values = values.astype(np.float64, copy=False)
    parts = host.call("tracer_features_array", domain, columns=domain.columns, values=values,
                      state=state)
    where: dict[str, tuple[np.ndarray, int]] = {}
    for plugin, (columns, matrix) in parts:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape != (len(records), len(columns)):
            raise PluginError(f"plugin {plugin!r}: tracer_features_array returned shape "
                              f"{matrix.shape} for {len(records)} records and {len(columns)} "
                              f"features", plugin=plugin)
        for k, column in enumerate(columns):
            if column in where:
                raise PluginError(f"feature {column!r} comes twice from tracer_features_array",
                                  plugin=plugin)
            where[column] = (matrix, k)
    missing = [n for n in names if n not in where]
    if missing:
        raise PluginError(f"tracer_features_array for {domain.name} gave no {missing[:5]}, "
                          "which the model was trained on", domain=domain.name)
    out = np.empty((len(records), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        matrix, k = where[name]
        out[:, j] = matrix[:, k]
    return out
