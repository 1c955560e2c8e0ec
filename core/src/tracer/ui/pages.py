"""Core console pages: sign-in and sign-out, and the catalog of the domains this platform
serves (public), each with its reference model's model card and calibration plot."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracer.api.routes.domains import enable_domain, install_domain, list_domains
from tracer.db import session
from tracer.errors import AuthError, NotFoundError
from tracer.tenancy import Principal, authenticate
from tracer.ui import NavLink, PostForm, TenantPage, render, see_other, sessions
from tracer.ui.evidence import champion_of, model_card, reliability_png

router = APIRouter()
NAV = [NavLink("Domains", "/ui/domains"), NavLink("Dashboard", "/ui/dashboard", ("tenant",))]
#: where each role lands after signing in; plugins may add theirs (``console.homes``)
HOMES = {"tenant": "/ui/dashboard", "admin": "/ui/admin"}
#: an anonymous visitor of the public catalog: no tenant, so no installs to show
_PUBLIC = Principal(key_id="", role="public", subject="", tenant_id=None)


def home_of(request: Request, principal: Principal | None) -> str:
    homes = request.app.state.homes
    return homes.get(principal.role, "/ui/domains") if principal else "/ui/domains"


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never an open redirect to another site."""
    if target and target.startswith("/ui/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return None


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    return see_other(home_of(request, sessions.principal_or_none(request)))


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "sign_in.html", title="Sign in", next=_safe_next(next) or "")


@router.post("/sign-in")
def sign_in(request: Request, form: PostForm) -> Response:
    settings = request.app.state.settings
    try:
        with session(settings) as s:
            principal = authenticate(s, form.get("api_key", "").strip())
    except AuthError:
        return render(request, "sign_in.html", status_code=401, title="Sign in",
                      next=_safe_next(form.get("next")) or "",
                      failure="That API key is not valid (or was revoked). Keys look like "
                              "trk_<prefix>_<secret>.")
    response = see_other(_safe_next(form.get("next")) or home_of(request, principal))
    sessions.start_session(request, response, principal)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: PostForm) -> Response:
    response = see_other("/ui/sign-in")
    sessions.end_session(response)
    return response


@router.get("/domains")
def domains(request: Request) -> Response:
    principal = sessions.principal_or_none(request)
    listed = list_domains(request, principal if principal else _PUBLIC)["domains"]
    return render(request, "domains.html", title="Domains", domains=listed)


@router.get("/domains/{domain:path}/reliability.png")
def reference_reliability(domain: str, request: Request) -> Response:
    p = request.app.state.platform
    champion = champion_of(p.store, p.host.domain(domain).model_name)
    png = reliability_png(p.store, champion.run_id) if champion else None
    if png is None:
        raise NotFoundError(f"{domain} has no reference model with a reliability plot")
    return Response(png, media_type="image/png")


@router.post("/domains/{domain:path}/install")
def install(domain: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    install_domain(domain, request, who, None)
    return see_other(f"/ui/domains/{domain}")


@router.post("/domains/{domain:path}/enable")
def enable(domain: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    enable_domain(domain, request, who)
    return see_other(_safe_next(form.get("back")) or f"/ui/domains/{domain}")


@router.get("/domains/{domain:path}")
def domain_page(domain: str, request: Request) -> Response:
    p = request.app.state.platform
    principal = sessions.principal_or_none(request)
    dom = p.host.domain(domain)
    mine = next(d for d in list_domains(request, principal or _PUBLIC)["domains"]
                if d["name"] == dom.name)
    champion = champion_of(p.store, dom.model_name)
    return render(request, "domain.html", title=dom.title, domain=dom.describe(), mine=mine,
                  champion=champion,
                  model_card_md=model_card(p.store, champion.run_id) if champion else None)
