"""``tracer train``, ``predict``, ``models``, ``promote`` and ``rollback``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tracer.cli.context import console, platform
from tracer.errors import ValidationError

if TYPE_CHECKING:
    from tracer.lifecycle import TrainingResult
    from tracer.selection import LeaderboardDict

TENANT = typer.Option(None, "--tenant", help="Work on this tenant's models.")


def train_with_progress(domain: str, data: Path | None = None, tenant: str | None = None,
                        params: dict[str, Any] | None = None) -> TrainingResult:
    from tracer import lifecycle
    from tracer.runner import tenant_scope

    h, store = platform()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[stage]}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"training {domain}", total=len(lifecycle.STAGES), stage="")

        def step(stage: str) -> None:
            done = lifecycle.STAGES.index(stage)
            bar.update(task, completed=done, stage=stage)

        with tenant_scope(tenant):
            result = lifecycle.train(h, store, domain, data=data, tenant=tenant,
                                     params=params, progress=step)
        bar.update(task, completed=len(lifecycle.STAGES), stage="done")
    return result


def leaderboard_table(board: LeaderboardDict, title: str) -> Table:
    """The candidate leaderboard (``leaderboard.json``) as a rich table, winner first."""
    primary = board["primary_metric"]
    windows = len(board["windows"])
    table = Table(title=title)
    table.add_column("candidate")
    table.add_column(f"{primary} mean ± sd", justify="right")
    for k in range(windows):
        table.add_column(f"window {k + 1}", justify="right")
    table.add_column("log-loss mean ± sd", justify="right")
    table.add_column("size")
    for c in board["candidates"]:
        name = f"[bold]{c['name']}[/] (winner)" if c["name"] == board["winner"] else c["name"]
        table.add_row(name, f"{c['mean']:.4f} ± {c['spread']:.4f}",
                      *(f"{f[primary]:.4f}" for f in c["folds"]),
                      f"{c['log_loss']:.4f} ± {c['log_loss_spread']:.4f}",
                      c["sizes"][-1] if c["sizes"] else "")
    return table


def print_result(result: TrainingResult) -> None:
    primary = result.primary_metric
    board = result.extras.get("leaderboard")
    if board:
        console.print(leaderboard_table(board, "Candidates: time-aware cross-validation on "
                                               f"the training part ({result.rows['training']:,}"
                                               " records)"))
        console.print(f"winner: {board['reason']}")
    table = Table(title=f"{result.model_name} v{result.version}: held-out evaluation "
                        f"({result.rows['evaluation']:,} latest records)")
    table.add_column("model")
    for name in (primary, "roc_auc", "log_loss", "brier"):
        table.add_column(name + (" (primary)" if name == primary else ""), justify="right")
    rows = {"this model": result.metrics, **result.baselines}
    for label, m in rows.items():
        cells = [f"{m[primary]:.4f} [{m[f'{primary}_ci_low']:.3f}–{m[f'{primary}_ci_high']:.3f}]",
                 *(f"{m[k]:.4f}" for k in ("roc_auc", "log_loss", "brier"))]
        table.add_row(label, *cells)
    console.print(table)
    console.print(f"calibration error (ECE) {result.metrics['ece']:.4f} held out, "
                  f"{result.metrics['ece_out_of_fold']:.4f} out of fold; decision threshold "
                  f"{result.threshold:.4f}")
    console.print(f"served: {result.extras['winner']} refit on all "
                  f"{result.rows['served']:,} records (version {result.version})")
    colour = "green" if result.promoted else "yellow"
    console.print(f"[{colour}]{result.decision}[/]")


def parse_costs(pairs: list[str]) -> dict[str, float | str]:
    """``["false_positive=2", "currency=EUR"]`` → ``{"false_positive": 2.0, "currency": "EUR"}``."""
    from tracer.domain import CostModel
    from tracer.errors import ValidationError

    known = set(CostModel.__dataclass_fields__)
    out: dict[str, float | str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            raise ValidationError(f"--cost {pair!r}: use KEY=VALUE with KEY one of "
                                  f"{', '.join(sorted(known))}")
        if key in ("currency", "action", "false_negative_column"):
            out[key] = value
            continue
        try:
            out[key] = float(value)
        except ValueError:
            raise ValidationError(f"--cost {pair!r}: {value!r} is not a number") from None
    return out


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(domain: str = typer.Argument(..., help="Domain as namespace/template "
                                           "(`tracer plugins` lists them)."),
              data: Path | None = typer.Option(None, "--data", help="CSV or Parquet with "
                                               "records and the label; default: the "
                                               "domain's reference data."),
              tenant: str | None = TENANT,
              cost: list[str] = typer.Option(
                  None, "--cost", help="Override the domain's cost model, e.g. "
                  "--cost false_positive=2 (repeatable; domains with a cost model only)."),
              weights: bool = typer.Option(True, "--weights/--no-weights",
                                           help="Use the domain's sample weights (switch off "
                                                "for a file not sampled like the reference)."),
              candidate: list[str] = typer.Option(
                  None, "--candidate", help="Compare only these candidates (repeatable; "
                  "default: every one, e.g. 'logistic regression C=0.1', 'small XGBoost', "
                  "'domain trainer')."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Compare candidates, evaluate the winner, refit it on all rows and register it;
        promote it only if it beats the champion beyond noise."""
        params: dict[str, Any] = {"weights": weights}
        if candidate:
            params["candidates"] = list(candidate)
        if cost:
            params["costs"] = parse_costs(cost)
        result = train_with_progress(domain, data, tenant, params)
        if as_json:
            console.print_json(json.dumps(result.as_dict(), default=float))
        else:
            print_result(result)

    @app.command("predict")
    def predict(domain: str = typer.Argument(...),
                input: Path = typer.Option(..., "--input", "-i", help="CSV/Parquet records."),
                output: Path | None = typer.Option(None, "--output", "-o",
                                                   help="Write here (CSV, or JSON with "
                                                        "--json) instead of stdout."),
                as_json: bool = typer.Option(False, "--json", help="JSON answers."),
                top: int = typer.Option(3, "--top", help="Factors per row."),
                version: int | None = typer.Option(None, "--version",
                                                   help="Score with this version, not the "
                                                        "champion."),
                tenant: str | None = TENANT) -> None:
        """Score every record of a file with the champion and explain each prediction."""
        from tracer.scoring import score_file

        _writable(output)
        h, store = platform()
        answers, frame = score_file(h, store, domain, input, tenant=tenant, version=version,
                                    top=top)
        if as_json:
            text = json.dumps(answers, indent=1, default=float)
        else:
            text = frame.to_csv(index=False)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text)
            except OSError as exc:
                raise ValidationError(f"--output {output}: cannot write ({exc.strerror})",
                                      field="output") from None
            typer.echo(f"wrote {len(answers):,} predictions to {output}", err=True)

    @app.command("models")
    def models(domain: str | None = typer.Argument(None),
               tenant: str | None = TENANT,
               leaderboard: bool = typer.Option(False, "--leaderboard",
                                                help="Show the candidate leaderboard of "
                                                     "each champion (or of --version)."),
               version: int | None = typer.Option(None, "--version",
                                                  help="With --leaderboard: this version."),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """Registered models with their versions, aliases and primary metric."""
        from tracer.lifecycle import model_name_for

        h, store = platform()
        names = [model_name_for(h.domain(domain), tenant)] if domain else store.model_names()
        if leaderboard:
            boards = {}
            for n in names:
                chosen = version if version is not None else next(
                    (v.version for v in store.versions(n) if "champion" in v.aliases), None)
                if chosen is not None:
                    boards[f"{n} v{chosen}"] = store.leaderboard(n, chosen)
            if as_json:
                console.print_json(json.dumps(boards, default=float))
                return
            for label, board in boards.items():
                if board is None:
                    console.print(f"{label}: no leaderboard (trained before candidates were "
                                  "compared)")
                    continue
                console.print(leaderboard_table(board, f"{label}: candidate leaderboard"))
                console.print(f"winner: {board['reason']}")
            return
        infos = [v for n in names for v in store.versions(n)]
        if as_json:
            console.print_json(json.dumps([i.as_dict() for i in infos]))
            return
        table = Table(title="Model versions")
        for column in ("model", "version", "aliases", "primary metric", "decision"):
            table.add_column(column)
        for i in infos:
            metric = i.tags.get("tracer.primary_metric", "")
            value = i.metrics.get(metric)
            table.add_row(i.name, str(i.version), ", ".join(sorted(i.aliases)),
                          f"{metric} {value:.4f}" if value is not None else "",
                          i.tags.get("tracer.decision", ""))
        console.print(table)

    @app.command("promote")
    def promote(domain: str, version: int, tenant: str | None = TENANT) -> None:
        """Make a version the champion (the old champion becomes previous-champion)."""
        from tracer import lifecycle

        h, store = platform()
        name = lifecycle.model_name_for(h.domain(domain), tenant)
        lifecycle.promote(store, name, version)
        console.print(f"{name}: version {version} is now the champion")

    @app.command("rollback")
    def rollback(domain: str, tenant: str | None = TENANT) -> None:
        """Put the previous champion back."""
        from tracer import lifecycle

        h, store = platform()
        name = lifecycle.model_name_for(h.domain(domain), tenant)
        version = lifecycle.rollback(store, name)
        console.print(f"{name}: rolled back, version {version} is the champion again")


def _writable(output: Path | None) -> None:
    """Refuse an --output that cannot be written before any scoring is done."""
    if output is None:
        return
    if output.is_dir():
        raise ValidationError(f"--output {output}: is a directory; name a file",
                              field="output")
    if not output.parent.is_dir():
        raise ValidationError(f"--output {output}: no such directory {output.parent}",
                              field="output")
    existed = output.exists()
    try:  # permissions, a read-only or special file system: found now, not after scoring
        with output.open("a"):
            pass
    except OSError as exc:
        raise ValidationError(f"--output {output}: cannot write ({exc.strerror})",
                              field="output") from None
    if not existed:
        output.unlink()
