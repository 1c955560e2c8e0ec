"""Calling ``tracer_features`` for a domain and checking what plugins return."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer.domain import Domain, FeatureState
from tracer.errors import PluginError
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
