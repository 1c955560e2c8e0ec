"""Wheels built from the fixture projects, and sandbox outcomes computed once per session.

A sandbox run trains a model twice in a child process (tens of seconds on two shared
cores), so each wheel is certified once and the tests read the stored outcome; tests that
need another policy re-derive the checks from the same outcome (``dynamic_checks``).
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.certification.build import FIXTURES, MALICIOUS, build_wheel

MALICIOUS_NAMES = ("writes_at_import", "socket_in_hook", "ships_pickle", "spawns_shell",
                   "evasive_shell")
MARKERS = [Path("/tmp/tracer-certify-pwned-import"), Path("/tmp/tracer-certify-pwned-shell"),
           Path("/tmp/tracer-certify-pwned-evasive")]


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="session")
def benign_wheel(wheel_dir) -> Path:
    return build_wheel(FIXTURES / "benign", wheel_dir / "benign")


@pytest.fixture(scope="session")
def flawed_wheel(wheel_dir) -> Path:
    return build_wheel(FIXTURES / "flawed", wheel_dir / "flawed")


@pytest.fixture(scope="session")
def malicious_wheels(wheel_dir) -> dict[str, Path]:
    for marker in MARKERS:
        marker.unlink(missing_ok=True)
    # a harmless object, but any pickle can run code when loaded: the check must not care
    payload = pickle.dumps({"weights": [0.1, 0.2]})
    return {name: build_wheel(MALICIOUS / name, wheel_dir / name,
                              extra={"mal_pickle/model.pkl": payload}
                              if name == "ships_pickle" else None)
            for name in MALICIOUS_NAMES}


@pytest.fixture(scope="session")
def first_party_wheels(wheel_dir) -> dict[str, Path]:
    """The first-party plugins as their real build backend makes them (uv, offline)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH; first-party wheels cannot be built")
    root = Path(__file__).resolve().parents[2]
    out = {}
    for package in ("tracer-esports", "tracer-fraud"):
        target = wheel_dir / package
        subprocess.run([uv, "build", "--package", package, "--wheel", "--offline",
                        "--out-dir", str(target)], cwd=root, check=True, capture_output=True)
        out[package] = next(target.glob("*.whl"))
    return out


class Certified:
    """Reports by wheel path, each computed once (and the sandbox outcome behind it)."""

    def __init__(self) -> None:
        self.reports: dict[Path, object] = {}
        self.outcomes: dict[Path, dict] = {}

    def report(self, wheel: Path):
        from tracer_registry.certify.validator import certify_with_outcome

        if wheel not in self.reports:
            self.reports[wheel], self.outcomes[wheel] = certify_with_outcome(wheel)
        return self.reports[wheel]

    def outcome(self, wheel: Path) -> dict:
        self.report(wheel)
        return self.outcomes[wheel]


@pytest.fixture(scope="session")
def certified() -> Certified:
    return Certified()
