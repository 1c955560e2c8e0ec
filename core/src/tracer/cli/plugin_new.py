"""``tracer plugin new``: start a domain plugin from Tracer's cookiecutter template.

Asks each template question in turn (showing the default), or takes every answer as a flag
(``--no-input`` fills the rest with defaults) for scripts. Answers are checked with the
template's own pre-generation hook before anything is written. ``--answers`` re-renders a
project from the ``.tracer-template.json`` it recorded, to take a newer template.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tracer.cli.context import console
from tracer.errors import ConfigurationError, ConflictError, ValidationError

ANSWERS_FILE = ".tracer-template.json"


def template_dir(explicit: Path | None = None) -> Path:
    """The template: ``explicit``, one packaged with tracer, or the source checkout's."""
    import tracer

    package = Path(tracer.__file__).resolve().parent
    candidates = [explicit] if explicit else [package / "plugin_template",
                                              package.parents[2] / "template"]
    for candidate in candidates:
        if candidate is not None and (candidate / "cookiecutter.json").is_file():
            return candidate
    where = explicit or " or ".join(str(c) for c in candidates)
    raise ConfigurationError(f"no Tracer plugin template (cookiecutter.json) at {where}; "
                             "pass --template PATH to a checkout's template/ folder")


def default_tracer_range() -> str:
    """The compatible range for plugins made now: this minor release series."""
    from packaging.version import Version

    from tracer import __version__

    v = Version(__version__)
    upper = f"{v.major}.{v.minor + 1}" if v.major == 0 else f"{v.major + 1}"
    return f">={v.major}.{v.minor},<{upper}"


def questions(template: Path) -> dict[str, Any]:
    """The template's questions (name -> raw default), in the order it asks them."""
    config = json.loads((template / "cookiecutter.json").read_text())
    return {k: v for k, v in config.items() if not k.startswith("_")}


def template_version(template: Path) -> str:
    config = json.loads((template / "cookiecutter.json").read_text())
    return str(config.get("_template_version", ""))


def problems(template: Path, answers: dict[str, Any]) -> list[str]:
    """The template hook's verdict on ``answers`` (one rule set for both entry points)."""
    hook = template / "hooks" / "pre_gen_project.py"
    if not hook.is_file():
        return []
    check = runpy.run_path(str(hook), run_name="tracer_template_hook")["problems"]
    return [str(problem) for problem in check(answers)]


def resolve_answers(template: Path, given: dict[str, Any], *, no_input: bool,
                    ask: Any = None) -> dict[str, Any]:
    """Every answer: given ones as they are, the rest asked (or defaulted) in order, with
    defaults rendered from the answers before them as cookiecutter renders them."""
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.prompt import render_variable

    raw_questions = questions(template)
    env = StrictEnvironment(context={"cookiecutter": raw_questions})
    answers: dict[str, Any] = {}
    for key, raw in raw_questions.items():
        if key in given:
            answers[key] = given[key]
            continue
        if key == "tracer_range":
            raw = default_tracer_range()
        choices = [render_variable(env, c, answers) for c in raw] if isinstance(raw, list) \
            else None
        default = choices[0] if choices else render_variable(env, raw, answers)
        answers[key] = default if no_input or ask is None else ask(key, default, choices)
    return answers


def render(template: Path, answers: dict[str, Any], output_dir: Path,
           overwrite: bool = False) -> Path:
    """Check the answers, then let cookiecutter write the project; returns its folder."""
    from cookiecutter.exceptions import CookiecutterException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    found = problems(template, answers)
    if found:
        raise ValidationError("; ".join(found), errors=found)
    target = output_dir / str(answers["project_slug"])
    if target.exists() and not overwrite:
        raise ConflictError(f"{target} exists already; choose another --output-dir or pass "
                            "--overwrite")
    try:
        project = cookiecutter(str(template), no_input=True, extra_context=answers,
                               output_dir=str(output_dir), overwrite_if_exists=overwrite,
                               default_config=True)
    except OutputDirExistsException as exc:
        raise ConflictError(f"{target} exists already: {exc}") from None
    except (CookiecutterException, ValueError) as exc:
        raise ValidationError(f"the template refused the answers: {exc}") from None
    return Path(project)


def ask_with_typer(key: str, default: str, choices: list[str] | None) -> str:
    label = key.replace("_", " ")
    if not choices:
        return str(typer.prompt(label, default=default))
    while True:
        answer = str(typer.prompt(f"{label} ({', '.join(choices)})", default=default))
        if answer in choices:
            return answer
        typer.echo(f"choose one of: {', '.join(choices)}", err=True)


def register(app: typer.Typer) -> None:
    plugin_app = typer.Typer(help="Write Tracer plugins.", no_args_is_help=True)
    app.add_typer(plugin_app, name="plugin")

    @plugin_app.command("new")
    def new(namespace: str | None = typer.Option(None, help="Publisher namespace (acme)."),
            template_name: str | None = typer.Option(None, help="Template name (churn); "
                                                     "the domain is NAMESPACE/TEMPLATE_NAME."),
            title: str | None = typer.Option(None, help="What the model predicts, short."),
            description: str | None = typer.Option(None, help="One sentence for the catalog."),
            author_name: str | None = typer.Option(None, help="Author name."),
            author_email: str | None = typer.Option(None, help="Author e-mail."),
            project_slug: str | None = typer.Option(None, help="Distribution and folder name."),
            package_name: str | None = typer.Option(None, help="Python package name."),
            github_repository: str | None = typer.Option(None, help="owner/name on GitHub "
                                                         "(the release workflow's identity)."),
            registry_url: str | None = typer.Option(None, help="Tracer registry to publish to."),
            license: str | None = typer.Option(None, help="License (Apache-2.0, MIT, ...)."),
            tracer_range: str | None = typer.Option(None, help="Compatible tracer versions, "
                                                    "e.g. '>=0.1,<0.2'."),
            output_dir: Annotated[Path, typer.Option(
                "--output-dir", "-o", help="Where to create the project folder.")] = Path("."),
            answers_file: Annotated[Path | None, typer.Option(
                "--answers", help=f"Re-render from a project's {ANSWERS_FILE} (flags "
                                  "override its answers).")] = None,
            template: Annotated[Path | None, typer.Option(
                "--template", help="Use this template folder.")] = None,
            no_input: bool = typer.Option(False, "--no-input",
                                          help="Ask nothing: defaults for what no flag says."),
            overwrite: bool = typer.Option(False, "--overwrite",
                                           help="Write into an existing project folder."),
            ) -> None:
        """Create a domain plugin project that trains, predicts and explains out of the box."""
        folder = template_dir(template)
        flags = {"namespace": namespace, "template_name": template_name, "title": title,
                 "description": description, "author_name": author_name,
                 "author_email": author_email, "project_slug": project_slug,
                 "package_name": package_name, "github_repository": github_repository,
                 "registry_url": registry_url, "license": license,
                 "tracer_range": tracer_range}
        given: dict[str, Any] = {}
        if answers_file is not None:
            try:
                given.update(json.loads(answers_file.read_text())["answers"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ValidationError(f"{answers_file}: not a {ANSWERS_FILE} answers file "
                                      f"({type(exc).__name__}: {exc})") from None
        given.update({k: v for k, v in flags.items() if v is not None})
        answers = resolve_answers(folder, given, no_input=no_input or answers_file is not None,
                                  ask=ask_with_typer)
        project = render(folder, answers, output_dir, overwrite=overwrite)
        domain = f"{answers['namespace']}/{answers['template_name']}"
        console.print(f"created [bold]{project}[/] (domain {domain}, template "
                      f"{template_version(folder)})")
        console.print(escape(f"next: uv pip install -e '{project}[test]' && tracer train "
                             f"{domain} && pytest {project}"))
