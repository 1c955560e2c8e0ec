"""Tracer: pluggable domain templates for small predictive models that explain themselves."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tracer")
except PackageNotFoundError:  # pragma: no cover -- running from a source tree
    __version__ = "0.0.0"

from tracer.domain import (
    Baseline,
    CostModel,
    Domain,
    Explanation,
    Factor,
    FeatureState,
    Prediction,
)
from tracer.errors import TracerError
from tracer.hookspecs import hookimpl

__all__ = [
    "Baseline",
    "CostModel",
    "Domain",
    "Explanation",
    "Factor",
    "FeatureState",
    "Prediction",
    "TracerError",
    "__version__",
    "hookimpl",
]
