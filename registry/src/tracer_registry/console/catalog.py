"""Catalog pages (public): search with filters and a listing page; install for a signed-in
tenant. A publisher's releases with yank; the admin's quarantine, revoke and lift."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticError
from tracer.db import session
from tracer.errors import ValidationError
from tracer.tenancy import Principal
from tracer.ui import PostForm, page_for, render, see_other
from tracer.ui.evidence import champion_of, model_card

from tracer_registry.models import LEVELS
from tracer_registry.routes import StatusChange, change_release_status, install_for, listing_view

router = APIRouter()
TenantPage = Annotated[Principal, Depends(page_for("tenant"))]
PublisherPage = Annotated[Principal, Depends(page_for("publisher"))]
AdminPage = Annotated[Principal, Depends(page_for("admin"))]


def _whole(value: str | None, field: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"{field}: {value!r} is not a whole number", field=field) \
            from None
    if number < 0:
        raise ValidationError(f"{field} must be ≥ 0", field=field)
    return number


@router.get("/catalog")
def catalog(request: Request, q: str | None = None, domain: str | None = None,
            level: str | None = None, publisher: str | None = None,
            max_monthly_fee_minor: str | None = None,
            max_per_prediction_micros: str | None = None) -> Response:
    from tracer_registry.catalog import search

    filters = {"q": q or "", "domain": domain or "", "level": level or "",
               "publisher": publisher or "", "max_monthly_fee_minor": max_monthly_fee_minor or "",
               "max_per_prediction_micros": max_per_prediction_micros or ""}
    with session(request.app.state.settings) as s:
        found = search(s, q or None, domain=domain or None, level=level or None,
                       publisher=publisher or None,
                       max_monthly_fee_minor=_whole(max_monthly_fee_minor,
                                                    "max_monthly_fee_minor"),
                       max_per_prediction_micros=_whole(max_per_prediction_micros,
                                                        "max_per_prediction_micros"))
    return render(request, "catalog.html", title="Catalog", listings=found, filters=filters,
                  levels=LEVELS)


def _reference(request: Request, domains: list[str]) -> dict[str, Any] | None:
    """The reference model of the first domain this listing provides that is loaded here."""
    p = request.app.state.platform
    for name in domains or []:
        if name in p.host.domains:
            dom = p.host.domain(name)
            champion = champion_of(p.store, dom.model_name)
            if champion is not None:
                return {"domain": name, "version": champion.version,
                        "model_card": model_card(p.store, champion.run_id)}
    return None


@router.post("/catalog/{name:path}/install")
def install(name: str, request: Request, who: TenantPage, form: PostForm) -> Response:
    install_for(request, who, name)
    return see_other(f"/ui/catalog/{name}?installed=1")


@router.get("/catalog/{name:path}")
def listing_page(name: str, request: Request, installed: str | None = None) -> Response:
    listing = listing_view(request, name)
    loaded = [d for d in listing["domains"] or [] if d in request.app.state.platform.host.domains]
    return render(request, "listing.html", title=listing["name"], listing=listing,
                  reference=_reference(request, listing["domains"]), loaded=loaded,
                  installed=bool(installed))


def _releases_of(s, publisher: str | None) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from tracer_registry.catalog import releases
    from tracer_registry.models import Listing

    query = select(Listing).order_by(Listing.name)
    if publisher is not None:
        query = query.where(Listing.publisher_id == publisher)
    out = []
    for listing in s.scalars(query):
        for r in releases(s, listing.name):
            out.append({"listing": listing.name, "publisher": listing.publisher_id,
                        "version": r.version, "status": r.status, "reason": r.status_reason,
                        "method": r.method, "signer": r.signer, "issuer": r.issuer,
                        "level": r.certification_level,
                        "expires_at": r.certification_expires_at,
                        "certification": _certification(s, listing.name, r.version)})
    return out


def _certification(s, plugin: str, version: str) -> dict[str, Any] | None:
    from sqlalchemy import inspect
    from tracer.errors import NotFoundError

    if not inspect(s.connection()).has_table("certification_reviews"):
        return None  # the certification plugin is not installed here
    from tracer_registry.certify.review import status_of

    try:
        return status_of(s, plugin, version)
    except NotFoundError:
        return None


@router.get("/publisher")
def publisher_page(request: Request, who: PublisherPage) -> Response:
    with session(request.app.state.settings) as s:
        rows = _releases_of(s, who.subject)
    return render(request, "publisher.html", title="Your releases", releases=rows)


def _reason(form: dict[str, str]) -> str:
    try:
        return StatusChange(reason=form.get("reason", "").strip()).reason
    except PydanticError:
        raise ValidationError("give a reason (1 to 2000 characters): tenants and the "
                              "publisher read it", field="reason") from None


@router.post("/publisher/releases/{name}/{version}/yank")
def yank(name: str, version: str, request: Request, who: PublisherPage,
         form: PostForm) -> Response:
    change_release_status(request, who, name, version, "yank", _reason(form))
    return see_other("/ui/publisher")


@router.get("/admin/releases")
def admin_releases(request: Request, who: AdminPage) -> Response:
    with session(request.app.state.settings) as s:
        rows = _releases_of(s, None)
    return render(request, "admin_releases.html", title="Releases", releases=rows)


@router.post("/admin/releases/{name}/{version}/{action}")
def admin_change(name: str, version: str, action: str, request: Request, who: AdminPage,
                 form: PostForm) -> Response:
    change_release_status(request, who, name, version, action, _reason(form))
    return see_other("/ui/admin/releases")
