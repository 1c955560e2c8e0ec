"""``tracer demo``: train every loaded domain on its reference data and explain predictions.

Plugins add their own steps through ``tracer_demo`` (the registry publishes, certifies and
bills); they run after the core steps.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.panel import Panel

from tracer.cli.context import console, platform

EXAMPLES = 3


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(domains: Annotated[list[str] | None, typer.Option(
                 "--domain", help="Only these domains (default: all).")] = None,
             no_serve: Annotated[bool, typer.Option(
                 "--no-serve", help="Stop before serving the API (tests, CI).")] = False,
             ) -> None:
        """Train the loaded domains, show predictions with their reasons, then serve the API
        with a demo tenant and key."""
        from tracer.cli.lifecycle import print_result, train_with_progress
        from tracer.scoring import score_frame, scorer_for

        h, store = platform()
        names = domains or sorted(h.domains)
        console.rule(f"Tracer demo: {len(names)} domains, data in {h.settings.home}/")
        for name in names:
            domain = h.domain(name)
            console.rule(f"[bold]{name}[/] — {domain.title}")
            print_result(train_with_progress(name))
            reference = domain.load_reference()
            sample = reference.sort_values(domain.order_by, kind="stable").tail(EXAMPLES)
            truth = sample[domain.label].tolist()
            answers, _ = score_frame(scorer_for(h, store, name),
                                     sample.drop(columns=[domain.label]), top=3)
            for answer, actual in zip(answers, truth, strict=True):
                lines = [f"[bold]{answer['summary']}[/]"]
                lines += [f"  {'▲' if f['direction'] == 'up' else '▼'} {f['sentence']}"
                          f"  [dim]({f['contribution']:+.2f} log-odds)[/]"
                          for f in answer["factors"]]
                lines.append(f"[dim]probability {answer['probability']:.3f}, label "
                             f"{answer['label']}, actual {domain.label}={actual}, model "
                             f"{answer['model']['name']} v{answer['model']['version']}[/]")
                console.print(Panel("\n".join(lines), expand=False))
        h.broadcast("tracer_demo", settings=h.settings, console=console)
        console.rule("done")
        console.print(f"Models are in MLflow at {h.settings.tracking_uri} "
                      "(`tracer models` lists them).")
        from tracer.api.demo import run_api_demo

        run_api_demo(h, store, console, serve=not no_serve)
