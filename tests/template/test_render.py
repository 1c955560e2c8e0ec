"""The cookiecutter template renders a complete plugin package and refuses bad answers."""

from __future__ import annotations

import csv
import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template"
HOOK = runpy.run_path(str(TEMPLATE / "hooks" / "pre_gen_project.py"), run_name="hook")


def render(tmp_path: Path, **answers: str) -> Path:
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers,
                             output_dir=str(tmp_path), default_config=True))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("render"))


def test_defaults_render_a_src_layout_plugin_package(project):
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        ".github/workflows/release.yml", ".github/workflows/test.yml", ".gitignore",
        ".tracer-template.json", "README.md", "pyproject.toml", "scripts/make_sample.py",
        "src/tracer_acme_churn/__init__.py", "src/tracer_acme_churn/data/sample.csv",
        "src/tracer_acme_churn/domain.py", "src/tracer_acme_churn/plugin.py",
        "tests/test_conformance.py", "tests/test_plugin.py"]


def test_pyproject_declares_the_entry_point_and_a_tracer_range(project):
    import tomllib

    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "tracer-acme-churn"
    assert meta["project"]["entry-points"]["tracer"] == {"acme-churn": "tracer_acme_churn.plugin"}
    assert "tracer>=0.1,<0.2" in meta["project"]["dependencies"]
    assert meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/tracer_acme_churn"]


def test_the_project_records_template_version_and_answers(project):
    recorded = json.loads((project / ".tracer-template.json").read_text())
    template = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert recorded["template_version"] == template["_template_version"] == "1.0.0"
    assert recorded["answers"]["namespace"] == "acme"
    assert sorted(recorded["answers"]) == sorted(k for k in template if not k.startswith("_"))


def test_the_sample_has_600_time_ordered_records_with_both_outcomes(project):
    rows = list(csv.DictReader((project / "src/tracer_acme_churn/data/sample.csv").open()))
    days = [int(r["observed_day"]) for r in rows]
    assert len(rows) == 600 and days == sorted(days)
    assert sum(int(r["churned"]) for r in rows) == 121


def test_the_committed_sample_is_what_the_script_generates(project, tmp_path):
    out = tmp_path / "sample.csv"
    subprocess.run([sys.executable, str(project / "scripts/make_sample.py"), str(out)],
                   check=True)
    assert out.read_bytes() == (project / "src/tracer_acme_churn/data/sample.csv").read_bytes()


def test_the_conformance_test_is_one_line_for_the_domain(project):
    text = (project / "tests/test_conformance.py").read_text()
    assert 'class TestConformance(ConformanceSuite, domain="acme/churn"):' in text


def test_the_readme_has_a_model_card(project):
    text = (project / "README.md").read_text()
    assert "## Model card" in text and "tracer train acme/churn" in text


def test_the_release_workflow_builds_signs_keyless_and_publishes(project):
    flow = yaml.safe_load((project / ".github/workflows/release.yml").read_text())
    release = flow["jobs"]["release"]
    assert release["permissions"]["id-token"] == "write"
    assert release["needs"] == "test"
    script = "\n".join(step.get("run", "") for step in release["steps"])
    build, sign, publish = (script.index("uv build --wheel"), script.index("sigstore sign"),
                            script.index("tracer publish"))
    assert build < sign < publish
    assert '--bundle "$wheel.sigstore.json"' in script
    assert flow["env"]["TRACER_REGISTRY_URL"] == "https://registry.tracer.dev"
    assert flow[True]["push"]["tags"] == ["v*"]  # YAML reads the key `on` as True


def test_the_rendered_project_passes_ruff(project):
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=project,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_other_names_flow_into_every_file(tmp_path):
    project = render(tmp_path, namespace="weather", template_name="rain-tomorrow",
                     license="MIT")
    assert project.name == "tracer-weather-rain-tomorrow"
    domain = (project / "src/tracer_weather_rain_tomorrow/domain.py").read_text()
    assert 'name="weather/rain-tomorrow"' in domain and 'license="MIT"' in domain
    assert "weather-rain-tomorrow = " in (project / "pyproject.toml").read_text()


def test_a_bad_package_name_is_refused_with_a_clear_message(tmp_path, capfd):
    with pytest.raises(FailedHookException):
        render(tmp_path, package_name="Acme-Churn")
    err = capfd.readouterr().err
    assert "error: package_name 'Acme-Churn' is not valid: a Python package name is lower " \
           "case letters" in err
    assert list(tmp_path.iterdir()) == []


DEFAULTS = {"namespace": "acme", "template_name": "churn", "package_name": "tracer_acme_churn",
            "project_slug": "tracer-acme-churn", "title": "Acme churn",
            "author_email": "ada@example.com", "github_repository": "acme/tracer-acme-churn",
            "registry_url": "https://registry.tracer.dev", "tracer_range": ">=0.1,<0.2"}


def test_the_default_answers_have_no_problems():
    assert HOOK["problems"](DEFAULTS) == []


@pytest.mark.parametrize(("key", "value", "hint"), [
    ("namespace", "Acme", "lower case letters, digits and '-'"),
    ("template_name", "churn/v2", "lower case letters, digits, '-' and '.'"),
    ("package_name", "class", "not taken by Python or Tracer"),
    ("package_name", "json", "not taken by Python or Tracer"),
    ("package_name", "tracer", "not taken by Python or Tracer"),
    ("project_slug", "Tracer Churn", "a distribution name"),
    ("author_email", "ada", "an address like"),
    ("github_repository", "https://github.com/acme/x", "owner/name"),
    ("registry_url", "http://registry.local", "https://"),
    ("tracer_range", ">=0.1", "with an upper bound"),
    ("tracer_range", "latest", "with an upper bound"),
])
def test_each_bad_answer_is_named_with_a_hint(key, value, hint):
    found = HOOK["problems"]({**DEFAULTS, key: value})
    assert len(found) == 1
    assert found[0].startswith(f"{key} {value!r} is not valid: ") and hint in found[0]
