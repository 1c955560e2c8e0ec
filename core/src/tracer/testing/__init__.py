"""The conformance kit for Tracer plugins (see docs/testing-plugins.md)."""
