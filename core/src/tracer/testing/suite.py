"""``ConformanceSuite``: the checks every Tracer plugin passes, as a pytest test class.

A plugin runs the suite on itself with one line in its tests::

    class TestConformance(ConformanceSuite, domain="acme/churn"): ...

``domain`` may be one name or a list (one parametrized run per domain). The plugin is found
through its installed entry point; pass ``plugin=`` (a module, a dotted module name or a
plugin object) to test one that is not installed. ``sample_rows`` caps the reference
records trained on (default 2,000, both outcomes always kept).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tracer.testing import checks
from tracer.testing.target import Conformance, conformance_for, plugin_domains

#: explanation checks score this many records
EXPLAINED_RECORDS = 25


def _domain_fixture(names: list[str]) -> Any:
    params = [pytest.param(name, id=name,
                           marks=pytest.mark.xdist_group(f"tracer-conformance-{name}"))
              for name in names]

    # a fixture of the subclass's own (its parameters are that class's domains); mypy
    # does not model a classmethod made outside a class body
    @pytest.fixture(scope="class", params=params)  # type: ignore[misc]
    @classmethod
    def conformance_domain(cls: Any, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    return conformance_domain


class ConformanceSuite:
    """Subclass as ``class TestConformance(ConformanceSuite, domain="ns/name"): ...``."""

    domain: ClassVar[str | list[str] | None] = None
    plugin: ClassVar[Any] = None
    sample_rows: ClassVar[int] = 2000
    conformance_domain: ClassVar[Any]  # the fixture each subclass gets (__init_subclass__)

    def __init_subclass__(cls, domain: str | list[str] | None = None, plugin: Any = None,
                          sample_rows: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if domain is not None:
            cls.domain = domain
        if plugin is not None:
            cls.plugin = plugin
        if sample_rows is not None:
            cls.sample_rows = sample_rows
        if cls.domain is None and cls.plugin is None:
            raise TypeError(f"{cls.__name__}: say what to test, e.g. "
                            f'class {cls.__name__}(ConformanceSuite, domain="acme/churn")')
        if isinstance(cls.domain, str):
            names = [cls.domain]
        elif cls.domain is not None:
            names = list(cls.domain)
        else:
            names = plugin_domains(cls.plugin)
        cls.conformance_domain = _domain_fixture(names)

    @pytest.fixture(scope="class")
    @classmethod
    def conformance(cls, conformance_domain: str,
                    tmp_path_factory: pytest.TempPathFactory) -> Conformance:
        """The domain under test on a fresh host with only its plugin, stores in tmp."""
        home = tmp_path_factory.mktemp("tracer-conformance")
        return conformance_for(conformance_domain, home, plugin=cls.plugin,
                               rows=cls.sample_rows)

    # -- the checks, in the order a plugin author meets them ------------------------------

    def test_hooks_have_the_contract_signatures(self, conformance: Conformance) -> None:
        implemented = checks.check_hooks(conformance.host, conformance.plugin_name)
        assert {"tracer_domains", "tracer_features"} <= set(implemented)

    def test_record_schema_is_a_pydantic_model_without_the_label(
            self, conformance: Conformance) -> None:
        schema = checks.check_domain(conformance.domain)
        assert conformance.domain.label not in schema["properties"]
        checks.check_sample(conformance.domain, conformance.sample)

    def test_features_are_deterministic_and_free_of_the_label(
            self, conformance: Conformance) -> None:
        records, labels = conformance.records_and_labels()
        features = checks.check_features(conformance.host, conformance.domain, records, labels)
        assert len(features) == len(records)

    def test_training_on_the_sample_registers_a_champion(
            self, conformance: Conformance) -> None:
        result = conformance.train()
        assert (result.version, result.promoted) == (1, True)
        metric = result.metrics[result.primary_metric]
        assert metric == metric, f"{result.primary_metric} is NaN on the evaluation part"
        champion = conformance.store.alias(result.model_name, "champion")
        assert champion is not None and champion.version == result.version

    def test_explanation_contributions_add_up_to_the_logit(
            self, conformance: Conformance) -> None:
        from tracer.scoring import scorer_for

        conformance.train()
        scorer = scorer_for(conformance.host, conformance.store, conformance.domain.name)
        records, _ = conformance.records_and_labels()
        answers = checks.check_explanations(scorer, records.tail(EXPLAINED_RECORDS)
                                            .reset_index(drop=True))
        assert len(answers) == min(EXPLAINED_RECORDS, len(records))

    def test_nothing_is_pickled(self, conformance: Conformance) -> None:
        checks.check_no_pickles(checks.package_files(conformance.module_name),
                                f"the package of plugin {conformance.plugin_name!r}")
        conformance.train()
        artifacts = [conformance.settings.artifact_root]
        root = conformance.settings.artifact_root
        # a booster is saved as UBJ; a linear model as JSON numbers in the Tracer folder
        assert list(root.rglob("model.ubj")) or list(root.rglob("tracer/state.json")), \
            "no saved model"
        checks.check_no_pickles(artifacts, f"the saved model of {conformance.domain.name}")

    def test_importing_the_plugin_opens_no_network_connection(
            self, conformance: Conformance, request: pytest.FixtureRequest) -> None:
        checks.check_no_network_at_import(conformance.module_name, conformance.attribute,
                                          extra_path=[str(request.config.rootpath)])
