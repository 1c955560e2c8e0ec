"""Done when: a freshly rendered plugin, installed into a fresh virtual environment next to
the workspace's ``tracer`` (nothing else), is discovered, trains, predicts with
explanations and passes its own tests, conformance suite included. All offline: uv
installs from its cache (filled by ``uv sync``), the plugin builds with the cached hatchling.

One environment per session (module fixture, one xdist group); it takes about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("tracer-fresh-environment")


def find_uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), REPO / ".venv-uv/bin/uv"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("uv not found (make setup bootstraps it into .venv-uv/)", pytrace=False)


class Fresh:
    """The fresh environment, the rendered project and a clean process environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.bin = self.venv / "bin"
        self.project = root / "src" / "tracer-acme-churn"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TRACER_", "VIRTUAL_ENV", "PYTHONPATH", "UV_"))}
        self.env.update(TRACER_HOME=str(root / "home"), MLFLOW_DISABLE_TELEMETRY="true",
                        DO_NOT_TRACK="true", UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never")

    def run(self, *command: str | Path, cwd: Path | None = None,
            **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(c) for c in command], cwd=cwd or self.root,
                              env={**self.env, **env}, capture_output=True, text=True)
        assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-3000:]}" \
                                     f"\n{done.stderr[-3000:]}"
        return done


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Fresh:
    fresh = Fresh(tmp_path_factory.mktemp("fresh"))
    uv = find_uv()
    # tracer (editable, from this checkout) and the locked versions of its dependencies
    fresh.run(uv, "sync", "--project", REPO, "--frozen", "--offline", "--package", "tracer",
              "--group", "dev", "--python", sys.executable,
              UV_PROJECT_ENVIRONMENT=str(fresh.venv))
    fresh.run(fresh.bin / "tracer", "plugin", "new", "--no-input", "-o", fresh.root / "src")
    # a real wheel build (not editable): the sample data must be packaged
    fresh.run(uv, "pip", "install", "--offline", "--python", fresh.bin / "python", fresh.project)
    return fresh


def test_the_environment_holds_tracer_and_the_plugin_only(fresh):
    plugins = json.loads(fresh.run(fresh.bin / "tracer", "plugins", "--json").stdout)
    loaded = {p["name"]: (p["status"], p["distribution"], p["domains"]) for p in plugins
              if not p["builtin"]}
    assert loaded == {"acme-churn": ("loaded", "tracer-acme-churn", ["acme/churn"])}
    installed = fresh.run(fresh.bin / "python", "-c", "import tracer_acme_churn, pathlib; "
                          "print(pathlib.Path(tracer_acme_churn.__file__).parent)").stdout
    assert "site-packages" in installed and (Path(installed.strip()) / "data/sample.csv").is_file()


def test_the_host_trains_the_fresh_plugin_on_its_sample(fresh):
    result = json.loads(fresh.run(fresh.bin / "tracer", "train", "acme/churn", "--json").stdout)
    assert (result["version"], result["promoted"]) == (1, True)
    assert result["rows"] == {"training": 480, "evaluation": 120, "served": 600}
    assert result["metrics"]["roc_auc"] >= 0.7  # the template domain's certification threshold


def test_predictions_carry_explanations_in_the_domains_words(fresh):
    sample = fresh.project / "src/tracer_acme_churn/data/sample.csv"
    answers = json.loads(fresh.run(fresh.bin / "tracer", "predict", "acme/churn", "--input",
                                   sample, "--json").stdout)
    assert len(answers) == 600
    first = answers[0]
    assert 0.0 < first["probability"] < 1.0 and first["model"]["version"] == 1
    assert len(first["factors"]) == 3
    assert all("the risk of cancelling" in f["sentence"] for f in first["factors"])
    assert first["summary"].endswith(".") and "chance that the customer cancels" in \
        first["summary"]


def test_the_rendered_plugin_passes_its_tests_and_the_conformance_suite(fresh):
    done = fresh.run(fresh.bin / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     cwd=fresh.project)
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("10 passed"), done.stdout[-2000:]
