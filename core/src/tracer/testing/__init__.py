"""The conformance kit for Tracer plugins (see docs/testing-plugins.md).

- ``ConformanceSuite``: the contract checks as a pytest class; a plugin runs them on
  itself with ``class TestConformance(ConformanceSuite, domain="acme/churn"): ...``.
- ``checks``: the same checks as plain functions raising ``ConformanceError``.
- Fixtures (registered with pytest by the ``tracer`` pytest11 entry point, see
  ``tracer.testing.pytest_plugin``): ``tracer_settings``, ``tracer_host``,
  ``tracer_register`` and ``tracer_store``.
"""

from tracer.testing.checks import ConformanceError
from tracer.testing.suite import ConformanceSuite

__all__ = ["ConformanceError", "ConformanceSuite"]
