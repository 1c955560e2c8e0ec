"""The tenant dashboard: installed domains, models, training jobs with live progress, live
metrics next to the champion's evaluation, drift per feature, usage against the tier's
allowance, API keys and the retraining policy.

Every number comes from the API's own route functions, called with the session's tenant
principal: what a page shows is what ``/v1/...`` answers that tenant, no more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from tracer.api.auth import TenantPrincipal
from tracer.api.routes import account, domains, feedback, retraining, training
from tracer.api.schemas import JobIn, OwnKeyIn, PolicyIn
from tracer.errors import NotFoundError, TracerError, ValidationError
from tracer.ui import PostForm, TenantPage, render, see_other
from tracer.ui.charts import hbars
from tracer.ui.evidence import model_card, reliability_png

router = APIRouter()
_Number = TypeVar("_Number", int, float)


def _usage_chart(usage: dict[str, Any]) -> tuple[Markup, Markup]:
    allowance = usage["allowance"]
    runs = usage["totals"].get("training_run", 0)
    items = [("predictions", float(usage["predictions_this_month"]))]
    marks = [(f"allowance {allowance['predictions_per_month']:,}",
              float(allowance["predictions_per_month"]))]
    chart = hbars("Predictions this month against the allowance", items, marks=marks)
    runs_chart = hbars("Training runs this month against the allowance",
                       [("training runs", float(runs))],
                       marks=[(f"allowance {allowance['training_runs_per_month']:,}",
                               float(allowance["training_runs_per_month"]))])
    return chart, runs_chart


def _dashboard(request: Request, who: TenantPrincipal, new_key: dict[str, Any] | None = None,
               status_code: int = 200) -> Response:
    p = request.app.state.platform
    listed = [d for d in domains.list_domains(request, who)["domains"] if d["installed"]]
    usage = account.usage(request, who, None, None, 50)
    chart, runs_chart = _usage_chart(usage)
    return render(request, "dashboard.html", status_code=status_code, title="Dashboard",
                  domains=listed, usage=usage, tier=p.settings.tiers[usage["tier"]],
                  usage_chart=chart, runs_chart=runs_chart,
                  jobs=training.jobs(request, who)["jobs"][:10],
                  keys=account.keys(request, who)["keys"], new_key=new_key,
                  sections=request.app.state.console.sections_of("dashboard", request, who))


@router.get("/dashboard")
def dashboard(request: Request, who: TenantPage) -> Response:
    return _dashboard(request, who)


@router.post("/keys")
def create_key(request: Request, who: TenantPage, form: PostForm) -> Response:
    created = account.new_key(OwnKeyIn(name=form.get("name", "")), request, who)
    # shown once, on this answer only: the page is not cached and nothing stores it
    return _dashboard(request, who, new_key=created, status_code=201)


@router.post("/keys/{key_id}/revoke")
def revoke(key_id: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    account.drop_key(key_id, request, who)
    return see_other("/ui/dashboard")


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, who: TenantPage) -> Response:
    job = training.job(job_id, request, who)
    return render(request, "job.html", title=f"Training job {job_id[:8]}", job=job)


@router.get("/jobs/{job_id}/progress")
def job_progress(job_id: str, request: Request, who: TenantPage) -> Response:
    """The progress fragment the job page's script swaps in while the job runs."""
    return render(request, "job_progress.html", job=training.job(job_id, request, who))


def _optional(call: Callable[..., dict[str, Any]], *args: object
              ) -> tuple[dict[str, Any] | None, str | None]:
    """A section that needs a champion (metrics, drift): its data, or why there is none."""
    try:
        return call(*args), None
    except TracerError as error:
        return None, str(error)


@router.get("/dashboard/{domain:path}/models/{version}/reliability.png")
def reliability(domain: str, version: int, request: Request, who: TenantPage) -> Response:
    p = request.app.state.platform
    name = training.models(domain, request, who)["model"]  # the tenant's own model only
    png = reliability_png(p.store, p.store.version(name, version).run_id)
    if png is None:
        raise NotFoundError(f"model {name} version {version} has no reliability plot")
    return Response(png, media_type="image/png")


@router.post("/dashboard/{domain:path}/train")
def train(domain: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    body = JobIn(use_reference=form.get("use_reference", "on") == "on",
                 include_feedback=form.get("include_feedback", "on") == "on")
    job, _ = training.start_job(request, who, domain, body.model_dump(), "manual")
    return see_other(f"/ui/jobs/{job['id']}")


@router.post("/dashboard/{domain:path}/policy")
def policy(domain: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    def number(name: str, kind: Callable[[str], _Number]) -> _Number | None:
        raw = form.get(name, "").strip()
        try:
            return kind(raw) if raw else None
        except ValueError:
            raise ValidationError(f"{name}: {raw!r} is not a number", field=name) from None

    from pydantic import ValidationError as PydanticError

    try:
        body = PolicyIn(enabled=form.get("enabled") == "on",
                        min_new_outcomes=number("min_new_outcomes", int),
                        drift_threshold=number("drift_threshold", float),
                        drift_window=number("drift_window", int) or 500,
                        use_reference=form.get("use_reference") == "on")
    except PydanticError as error:
        first = error.errors()[0]
        raise ValidationError(f"{first['loc'][0]}: {first['msg']}",
                              field=str(first["loc"][0])) from None
    retraining.put_policy(domain, body, request, who)
    return see_other(f"/ui/dashboard/{domain}")


@router.get("/dashboard/{domain:path}")
def domain_dashboard(domain: str, request: Request, who: TenantPage) -> Response:
    p = request.app.state.platform
    dom = p.host.domain(domain)
    mine = next(d for d in domains.list_domains(request, who)["domains"] if d["name"] == dom.name)
    if not mine["installed"]:
        raise NotFoundError(f"domain {dom.name} is not installed for you", domain=dom.name)
    models = training.models(domain, request, who)
    champion = next((v for v in models["versions"] if "champion" in v["aliases"]), None)
    live, live_why = _optional(feedback.metrics, dom.name, request, who, 1000)
    drift, drift_why = _optional(feedback.drift, dom.name, request, who, 500)
    drift_chart = None
    if drift and drift["features"]:
        drift_chart = hbars(f"Drift per feature (PSI) of the latest {drift['records']} records",
                            list(drift["features"].items())[:15],
                            marks=[("0.1", 0.1), ("0.25", 0.25)])
    policy_row, _ = _optional(retraining.get_policy, dom.name, request, who)
    model_card_md = None
    if champion is not None:
        run_id = p.store.version(models["model"], champion["version"]).run_id
        model_card_md = model_card(p.store, run_id)
    return render(request, "domain_dashboard.html", title=f"{dom.title}: your models",
                  domain=dom, mine=mine, models=models, champion=champion, live=live,
                  live_why=live_why, drift=drift, drift_why=drift_why, drift_chart=drift_chart,
                  policy=policy_row, model_card_md=model_card_md,
                  decisions=retraining.decisions(dom.name, request, who)["decisions"][:10])
