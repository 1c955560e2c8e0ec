"""The Tracer conformance suite, run on this plugin (Tracer's docs/testing-plugins.md)."""

from tracer.testing import ConformanceSuite


class TestConformance(ConformanceSuite, domain="{{ cookiecutter.namespace }}/{{ cookiecutter.template_name }}"):
    """Contract, schema, features, training, explanations, no pickle, no network at import."""
