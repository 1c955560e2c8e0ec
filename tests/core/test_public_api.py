"""The public surface of ``tracer`` is a list, and this test holds it."""

import tracer


def test_exported_members():
    assert sorted(tracer.__all__) == [
        "Baseline", "CostModel", "Domain", "Explanation", "Factor", "FeatureState",
        "Prediction", "TracerError", "__version__", "hookimpl",
    ]
    for name in tracer.__all__:
        assert getattr(tracer, name) is not None


def test_error_hierarchy_maps_to_problem_documents():
    from tracer import errors

    leaves = [errors.ValidationError, errors.NotFoundError, errors.ForbiddenError,
              errors.QuotaError, errors.LimitError, errors.ConflictError, errors.InvalidError,
              errors.PluginError]
    for cls in leaves:
        assert issubclass(cls, tracer.TracerError)
        problem = cls("what went wrong", field="x").problem("/v1/thing")
        assert problem["status"] == cls.status
        assert problem["detail"] == "what went wrong"
        assert problem["type"].endswith("/" + cls.slug)
        assert problem["field"] == "x" and problem["instance"] == "/v1/thing"


def test_settings_come_from_tracer_environment(settings, monkeypatch):
    from tracer.settings import get_settings, reset_settings

    monkeypatch.setenv("TRACER_PLUGINS__ALLOW", "esports-lol, fraud-card")
    monkeypatch.setenv("TRACER_API__MAX_BATCH_ROWS", "50")
    reset_settings()
    s = get_settings()
    assert s.plugins.allow == ["esports-lol", "fraud-card"]
    assert s.api.max_batch_rows == 50
    assert s.platform_db_url.startswith("sqlite:///") and s.platform_db_url.endswith("tracer.db")
    assert s.tiers["professional"].monthly_price_cents == 49_900
