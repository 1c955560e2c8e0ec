"""``tracer jobs``: a tenant's training jobs, listed and cancelled (as ``/v1/jobs`` does)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from tracer.cli.context import console, migrated

jobs = typer.Typer(help="Training jobs: list and cancel.", no_args_is_help=True)
TENANT = typer.Option(..., "--tenant", help="The tenant whose jobs these are.")


@jobs.command("list")
def list_jobs(tenant: str = TENANT,
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The tenant's training jobs, newest first."""
    from sqlalchemy import select

    from tracer.db import session
    from tracer.models import TrainingJob

    h = migrated()
    with session(h.settings) as s:
        rows = [j.as_dict() for j in s.scalars(select(TrainingJob).where(
            TrainingJob.tenant_id == tenant).order_by(TrainingJob.created_at.desc())
            .limit(200))]
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table(title=f"Training jobs of {tenant}")
    for column in ("id", "domain", "status", "stage", "attempts", "error"):
        table.add_column(column)
    for j in rows:
        table.add_row(j["id"], j["domain"], j["status"], j["stage"], str(j["attempts"]),
                      (j["error"] or "")[:80])
    console.print(table)


@jobs.command("cancel")
def cancel(job_id: str = typer.Argument(..., help="The job's id."),
           tenant: str = TENANT) -> None:
    """Cancel a queued or running job: its worker is stopped, the champion stays."""
    from tracer.jobs import cancel_job

    h = migrated()
    job = cancel_job(h.settings, tenant, job_id)
    console.print(f"job {job.id} ({job.domain}) is {job.status}")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs, name="jobs")
