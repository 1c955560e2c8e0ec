"""``tracer plugin new``: every answer as a flag, or asked one by one; re-render from the
recorded answers to take a template change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from tracer.cli import build_app, main
from tracer.cli.plugin_new import default_tracer_range, questions, template_dir
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(settings):
    return build_app(load_plugins=False)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_the_source_checkout_template_is_found():
    assert template_dir() == REPO / "template"


def test_every_template_question_has_a_flag(cli):
    new = typer.main.get_command(cli).commands["plugin"].commands["new"]
    flags = {p.name for p in new.params}
    assert sorted(set(questions(template_dir())) - flags) == []


def test_the_default_tracer_range_is_this_minor_series():
    from tracer import __version__

    assert __version__.startswith("0.1") and default_tracer_range() == ">=0.1,<0.2"


def test_flags_answer_everything_without_a_prompt(cli, tmp_path):
    result = CliRunner().invoke(cli, [
        "plugin", "new", "--no-input", "--namespace", "weather", "--template-name", "rain",
        "--title", "Rain tomorrow", "--author-email", "met@example.org", "--license", "MIT",
        "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = tmp_path / "tracer-weather-rain"
    answers = json.loads((project / ".tracer-template.json").read_text())["answers"]
    assert (answers["title"], answers["license"], answers["package_name"]) == (
        "Rain tomorrow", "MIT", "tracer_weather_rain")
    assert 'name="weather/rain"' in (project / "src/tracer_weather_rain/domain.py").read_text()


def test_without_flags_it_asks_each_question_with_its_default(cli, tmp_path):
    answers = ["shop", "returns", "", "", "Grace", "grace@example.com", "", "", "", "", "MIT",
               ""]
    result = CliRunner().invoke(cli, ["plugin", "new", "-o", str(tmp_path)],
                                input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "package name [tracer_shop_returns]" in result.output
    recorded = json.loads((tmp_path / "tracer-shop-returns/.tracer-template.json")
                          .read_text())["answers"]
    assert (recorded["title"], recorded["author_name"], recorded["license"]) == (
        "Shop returns", "Grace", "MIT")


def test_a_bad_flag_is_refused_in_one_line_and_nothing_is_written(settings, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    status = main(["plugin", "new", "--no-input", "--package-name", "Acme-Churn",
                   "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: package_name 'Acme-Churn' is not valid")
    assert list(out.iterdir()) == []


def test_an_existing_project_folder_is_not_overwritten(cli, tmp_path):
    (tmp_path / "tracer-acme-churn").mkdir()
    result = CliRunner().invoke(cli, ["plugin", "new", "--no-input", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "exists already; choose another --output-dir or pass --overwrite" in str(
        result.exception)


def test_rerendering_from_the_recorded_answers_reproduces_the_project(cli, tmp_path):
    runner = CliRunner()
    first = runner.invoke(cli, ["plugin", "new", "--no-input", "--namespace", "acme",
                                "--author-name", "Ada", "-o", str(tmp_path / "v1")])
    assert first.exit_code == 0, first.output
    project = tmp_path / "v1" / "tracer-acme-churn"
    again = runner.invoke(cli, ["plugin", "new", "--answers",
                                str(project / ".tracer-template.json"),
                                "-o", str(tmp_path / "v2")])
    assert again.exit_code == 0, again.output
    assert tree(tmp_path / "v2" / "tracer-acme-churn") == tree(project)
