"""The dynamic checks: plugin code runs only in the sandbox child, attacks are blocked and
reported, quality and speed are measured there. Summary: malicious rejected, benign
accepted."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from tracer_registry.certify import REGISTRY_POLICY
from tracer_registry.certify.sandbox import dynamic_checks

from tests.certification.conftest import MALICIOUS_NAMES, MARKERS

PLUGIN_MODULES = ("certsample", "certflawed", "mal_writes", "mal_socket", "mal_pickle",
                  "mal_shell", "mal_evasive")


def by_id(checks):
    return {c.id: c for c in checks}


def test_the_honest_plugin_passes_every_check(certified, benign_wheel):
    report = certified.report(benign_wheel)
    failed = {c.id: c.message for c in report.checks if c.status != "passed"
              and c.severity == "error"}
    assert failed == {}
    assert report.passed
    checks = by_id(report.checks)
    assert checks["dynamic.safety"].evidence["violations"] == []
    assert checks["conformance"].evidence["kit"] == "tracer.testing.checks"
    quality = checks["quality.threshold"].evidence["certsample/signal"]
    assert quality["value"] >= 0.75 and quality["rows"]["evaluation"] == 600
    assert checks["quality.reproducible"].status == "passed"


def test_plugin_code_never_runs_in_the_validator_process(certified, benign_wheel,
                                                         malicious_wheels):
    certified.report(benign_wheel)
    for wheel in malicious_wheels.values():
        certified.report(wheel)
    assert [m for m in sys.modules if m.split(".")[0] in PLUGIN_MODULES] == []
    assert [m for m in MARKERS if m.exists()] == []


@pytest.mark.parametrize("name, kind, phase", [
    ("writes_at_import", "filesystem-write", "import"),
    ("socket_in_hook", "network", "hook:mal/socket"),
    ("spawns_shell", "process", "import"),
    ("evasive_shell", "process", "import"),
])
def test_each_attack_is_blocked_in_the_child_and_named(certified, malicious_wheels, name,
                                                       kind, phase):
    report = certified.report(malicious_wheels[name])
    safety = by_id(report.checks)["dynamic.safety"]
    assert safety.status == "failed" and not report.passed
    first = safety.evidence["violations"][0]
    assert (first["kind"], first["phase"]) == (kind, phase)
    assert first["plugin_frame"].startswith("__init__.py:")


def test_the_evasive_plugin_passes_the_static_scan_and_only_the_sandbox_catches_it(
        certified, malicious_wheels):
    checks = by_id(certified.report(malicious_wheels["evasive_shell"]).checks)
    assert all(checks[r].status == "passed" for r in (
        "static.network", "static.subprocess", "static.eval-exec", "static.filesystem-write"))
    assert checks["dynamic.safety"].evidence["violations"][0]["event"] == "os.system"


def test_the_pickle_is_rejected_by_packaging(certified, malicious_wheels):
    checks = by_id(certified.report(malicious_wheels["ships_pickle"]).checks)
    assert checks["packaging.pickle"].status == "failed"
    assert checks["packaging.pickle"].evidence["files"] == [
        {"file": "mal_pickle/model.pkl", "why": "pickle-family file name"}]


def test_the_flawed_plugin_fails_every_quality_check(certified, flawed_wheel):
    report = certified.report(flawed_wheel)
    checks = by_id(report.checks)
    assert checks["dynamic.safety"].status == "passed"
    failed = set(c.id for c in report.checks if c.blocking)
    # the fixture's unseeded jitter moves its held-out calibration error between about 0.05
    # and 0.12, around the 0.108 bound for 300 records: calibration may fail too
    assert failed - {"quality.calibration"} == {
        "conformance", "quality.baseline", "quality.explanations", "quality.reproducible",
        "quality.threshold"}
    value = checks["quality.threshold"].evidence["certflawed/noise"]["value"]
    assert value < 0.99
    baseline = checks["quality.baseline"].evidence["certflawed/noise"]["baseline"]
    assert baseline["name"] == "rule: x1 above zero" and baseline["value"] > value
    assert "features differ" in " ".join(checks["conformance"].evidence["failures"]) or \
        "different features" in " ".join(checks["conformance"].evidence["failures"])


def test_calibration_and_speed_fail_against_a_stricter_policy(certified, benign_wheel):
    outcome = certified.outcome(benign_wheel)
    normal = by_id(dynamic_checks(outcome, REGISTRY_POLICY))
    strict = by_id(dynamic_checks(outcome, dataclasses.replace(
        REGISTRY_POLICY, ece_bound=0.0, ece_noise_allowance=0.0, speed_p99_budget_ms=0.001)))
    assert normal["quality.calibration"].status == "passed"
    assert strict["quality.calibration"].status == "failed"
    assert normal["speed.p99"].evidence["certsample/signal"]["calls"] == 200
    assert (strict["speed.p99"].status, strict["speed.p99"].severity) == ("failed", "warning")
    p99 = strict["speed.p99"].evidence["certsample/signal"]["p99_ms"]
    assert 0 < strict["speed.p99"].evidence["certsample/signal"]["p50_ms"] <= p99


def test_a_wheel_without_entry_points_fails_import(tmp_path):
    from tracer_registry.certify.sandbox import _import_check

    from tests.certification.build import FIXTURES, build_wheel

    check = _import_check({"entry_points": {}}, REGISTRY_POLICY)
    assert check.status == "failed" and "declares no [project.entry-points.tracer]" in \
        check.message
    assert build_wheel(FIXTURES / "benign", tmp_path).exists()


def test_the_time_limit_stops_the_child(benign_wheel):
    from tracer_registry.certify.sandbox import run_in_sandbox
    from tracer_registry.certify.wheel import Wheel

    outcome = run_in_sandbox(Wheel(benign_wheel), dataclasses.replace(REGISTRY_POLICY,
                                                                      wall_seconds=1.0))
    safety = by_id(dynamic_checks(outcome, REGISTRY_POLICY))["dynamic.safety"]
    assert outcome["timeout"] is True
    assert (safety.status, safety.evidence["timeout"]) == ("failed", True)


def test_the_memory_limit_stops_the_child(benign_wheel):
    from tracer_registry.certify.sandbox import run_in_sandbox
    from tracer_registry.certify.wheel import Wheel

    outcome = run_in_sandbox(Wheel(benign_wheel), dataclasses.replace(
        REGISTRY_POLICY, memory_bytes=256 * 1024**2))
    # the limit holds the plugin's runner (the child itself is platform code): the plugin
    # cannot load its reference data, so certification cannot pass
    checks = by_id(dynamic_checks(outcome, REGISTRY_POLICY))
    assert outcome["limits"]["memory_bytes"] == 256 * 1024**2
    failed = {i for i, c in checks.items() if c.status == "failed"}
    assert failed & {"dynamic.import", "dynamic.safety", "conformance", "quality.threshold"}


def test_summary_malicious_rejected_and_benign_accepted(certified, benign_wheel,
                                                       malicious_wheels, capsys):
    rejected = [n for n in MALICIOUS_NAMES if not certified.report(malicious_wheels[n]).passed]
    accepted = [w for w in [benign_wheel] if certified.report(w).passed]
    with capsys.disabled():
        print(f"\ncertification summary: malicious rejected {len(rejected)}/"
              f"{len(MALICIOUS_NAMES)} ({100 * len(rejected) / len(MALICIOUS_NAMES):.0f} %), "
              f"benign accepted {len(accepted)}/1 ({100 * len(accepted):.0f} %)")
    assert rejected == list(MALICIOUS_NAMES)
    assert len(accepted) == 1
