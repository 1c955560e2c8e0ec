"""Registry routes (added through ``tracer_routes``); roles via ``tracer.api.auth``.

Errors are ``TracerError``s, which the API turns into RFC 9457 problems in one place; a
refusal's problem carries ``check`` (digest, identity, issuer, trust root, ...).

Who may do what (function-level authorization, checked before any work):
- any key: search and read the catalog;
- admin: create publisher accounts, quarantine, revoke, lift;
- a publisher (or an admin) for its own account: register keys and trusted publishers;
- a publisher: publish into namespaces it owns, yank its own releases;
- a tenant: install for itself and set its own certification policy.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from tracer.api.auth import Principal, current_principal, require_roles, require_tenant, settings_of
from tracer.api.deps import Platform
from tracer.db import session
from tracer.errors import ForbiddenError, LimitError
from tracer.host import PluginHost

from tracer_registry import responses as R

RELEASES = "/v1/releases"
BUNDLE_LIMIT = 1_000_000

Admin = Annotated[Principal, Depends(require_roles("admin"))]
Publisher = Annotated[Principal, Depends(require_roles("publisher"))]
PublisherOrAdmin = Annotated[Principal, Depends(require_roles("publisher", "admin"))]
Tenant = Annotated[Principal, Depends(require_tenant)]
Anyone = Annotated[Principal, Depends(current_principal)]


class InstallRequest(BaseModel):
    spec: str = Field(description="NAME or NAME==VERSION", max_length=200)


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000,
                        description="Shown to tenants and to the publisher.")


class PublisherIn(BaseModel):
    id: str = Field(min_length=2, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    first_party: bool = False


class KeyIn(BaseModel):
    namespace: str = Field(min_length=1, max_length=200)
    public_pem: str = Field(min_length=1, max_length=4000)


class DomainClaimIn(BaseModel):
    prefix: str = Field(min_length=1, max_length=128, description="e.g. acme (acme/...)")


class TrustedPublisherIn(BaseModel):
    namespace: str = Field(min_length=1, max_length=200)
    issuer: str = Field(min_length=1, max_length=500)
    repository: str = Field(min_length=1, max_length=500)
    workflow: str = Field(min_length=1, max_length=500)
    environment: str | None = Field(default=None, max_length=200)


class PolicyIn(BaseModel):
    min_level: str = Field(description="community, verified-publisher or certified")


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"refused (size check): {what} is over the upload limit of "
                         f"{limit} bytes", limit=limit, check="size")
    return data


def _own_account(who: Principal, publisher_id: str) -> None:
    if who.role == "publisher" and who.subject != publisher_id:
        raise ForbiddenError(f"your key acts for publisher {who.subject!r}, not "
                             f"{publisher_id!r}", publisher=publisher_id)


def _host(request: Request) -> PluginHost | None:
    """The platform's plugin host; None where the routes serve an app built without one."""
    platform: Platform | None = getattr(request.app.state, "platform", None)
    return platform.host if platform is not None else None


#: mounted by the registry's ``tracer_routes`` hook (which also marks RELEASES an upload path)
router = APIRouter(tags=["registry"])

@router.get("/v1/catalog", response_model=list[R.CatalogEntry])
def catalog_search(request: Request, _: Anyone, q: str | None = None,
                   domain: str | None = None, level: str | None = None,
                   publisher: str | None = None,
                   max_monthly_fee_minor: int | None = None,
                   max_per_prediction_micros: int | None = None
                   ) -> list[dict[str, Any]]:
    from tracer_registry.catalog import search

    with session(settings_of(request)) as s:
        return search(s, q, domain=domain, level=level, publisher=publisher,
                      max_monthly_fee_minor=max_monthly_fee_minor,
                      max_per_prediction_micros=max_per_prediction_micros)

@router.get("/v1/catalog/{name:path}", response_model=R.Listing)
def catalog_show(name: str, request: Request, _: Anyone) -> dict[str, Any]:
    return listing_view(request, name)

@router.post("/v1/publishers", status_code=201, response_model=R.PublisherOut)
def create_publisher(body: PublisherIn, request: Request, _: Admin) -> dict[str, Any]:
    from tracer_registry.publishers import create_publisher

    with session(settings_of(request)) as s:
        row = create_publisher(s, body.id, body.name, first_party=body.first_party)
        return {"id": row.id, "name": row.name, "first_party": row.first_party}

@router.post("/v1/publishers/{publisher_id}/keys", status_code=201,
             response_model=R.PublisherKeyOut)
def add_key(publisher_id: str, body: KeyIn, request: Request,
            who: PublisherOrAdmin) -> dict[str, Any]:
    from tracer_registry.publishers import register_key

    _own_account(who, publisher_id)
    with session(settings_of(request)) as s:
        row = register_key(s, publisher_id, body.namespace, body.public_pem)
        return {"key_id": row.key_id, "publisher": row.publisher_id,
                "namespace": row.namespace}

@router.post("/v1/publishers/{publisher_id}/domains", status_code=201,
             response_model=R.DomainClaimOut)
def claim_domain(publisher_id: str, body: DomainClaimIn, request: Request,
                 who: PublisherOrAdmin) -> dict[str, Any]:
    from tracer_registry.domains import claim_domain

    _own_account(who, publisher_id)
    with session(settings_of(request)) as s:
        row = claim_domain(s, publisher_id, body.prefix)
        return {"publisher": row.publisher_id, "prefix": row.prefix}

@router.post("/v1/publishers/{publisher_id}/trusted-publishers", status_code=201,
             response_model=R.TrustedPublisherOut)
def add_trusted(publisher_id: str, body: TrustedPublisherIn, request: Request,
                who: PublisherOrAdmin) -> dict[str, Any]:
    from tracer_registry.publishers import add_trusted_publisher

    _own_account(who, publisher_id)
    with session(settings_of(request)) as s:
        row = add_trusted_publisher(s, publisher_id, body.namespace, issuer=body.issuer,
                                    repository=body.repository, workflow=body.workflow,
                                    environment=body.environment)
        return {"publisher": row.publisher_id, "namespace": row.namespace,
                "issuer": row.issuer, "repository": row.repository,
                "workflow": row.workflow, "environment": row.environment}

@router.post(RELEASES, status_code=201, response_model=R.PublishedRelease)
async def publish_release(request: Request, who: Publisher,
                          wheel: Annotated[UploadFile, File()],
                          bundle: Annotated[UploadFile, File()],
                          domains: Annotated[str, Form()] = "") -> dict[str, Any]:
    from tracer_registry.certify import intake, runs
    from tracer_registry.publishing import publish

    settings = settings_of(request)
    data = await _read_limited(wheel, settings.api.max_upload_bytes, "the wheel")
    signature = await _read_limited(bundle, BUNDLE_LIMIT, "the bundle")
    with session(settings) as s:
        release = publish(s, settings, data, wheel.filename or "", signature,
                          publisher_id=who.subject,
                          domains=[d for d in domains.split(",") if d] or None)
        # certification is queued, not run: the upload is answered now
        runs.enqueue(s, release.listing_name, release.version)
        answer: dict[str, Any] = {
            "listing": release.listing_name, "version": release.version,
            "sha256": release.wheel_sha256, "signer": release.signer,
            "method": release.method, "level": release.certification_level}
        answer["certification"] = runs.state(s, release.listing_name, release.version)
    if getattr(request.app.state, "certify_on_publish", True):
        intake.launch(settings)
    return answer

@router.post("/v1/installs", status_code=201, response_model=R.InstalledOut)
def install_release(body: InstallRequest, request: Request, who: Tenant
                    ) -> dict[str, Any]:
    return install_for(request, who, body.spec)

@router.get("/v1/installs/policy", response_model=R.TenantPolicyOut)
def get_policy(request: Request, who: Tenant) -> dict[str, Any]:
    from tracer_registry.models import TenantPolicy

    with session(settings_of(request)) as s:
        policy = s.get(TenantPolicy, who.tenant_id)
        return {"tenant": who.tenant_id,
                "min_level": policy.min_level if policy else "community"}

@router.put("/v1/installs/policy", response_model=R.TenantPolicyOut)
def put_policy(body: PolicyIn, request: Request, who: Tenant) -> dict[str, Any]:
    from tracer_registry.install import set_policy

    with session(settings_of(request)) as s:
        policy = set_policy(s, who.tenant, body.min_level)
        return {"tenant": who.tenant_id, "min_level": policy.min_level}

@router.post(RELEASES + "/{name}/{version}/{action}", response_model=R.ReleaseStatusOut,
             response_model_exclude_unset=True)
def change_release(name: str, version: str, action: str, body: StatusChange,
                   request: Request, who: PublisherOrAdmin) -> dict[str, Any]:
    return change_release_status(request, who, name, version, action, body.reason)



# -- what a route does, callable by the console's pages with the session's principal -----

def listing_view(request: Request, name: str) -> dict[str, Any]:
    """A listing with its shown release's certification (level, expiry, automated state)."""
    from tracer_registry.catalog import show
    from tracer_registry.certify.runs import state

    with session(settings_of(request)) as s:
        listing = show(s, name)
        if listing["certification"] is not None and listing["versions"]:
            shown = next((v for v in listing["versions"] if v["status"] == "active"),
                         listing["versions"][0])
            listing["certification"]["version"] = shown["version"]
            listing["certification"]["automated"] = state(s, listing["name"],
                                                          shown["version"])
        return listing


def install_for(request: Request, who: Principal, spec: str) -> dict[str, Any]:
    """Install a release for the caller's tenant; this API's host serves it from now on."""
    from tracer_registry.install import install, reload_host

    settings = settings_of(request)
    with session(settings) as s:
        done = install(s, settings, who.tenant, spec)
    host = _host(request)
    if host is not None:
        reload_host(host, done.listing)
    return done.as_dict()


def change_release_status(request: Request, who: Principal, name: str, version: str,
                          action: str, reason: str) -> dict[str, Any]:
    from tracer_registry.catalog import get_listing
    from tracer_registry.install import reload_host
    from tracer_registry.revocation import change_status

    settings = settings_of(request)
    with session(settings) as s:
        if who.role == "publisher":
            # a publisher may yank its own release (PEP 592); stopping code from
            # running anywhere is the registry operator's decision
            if action != "yank":
                raise ForbiddenError(f"{action} needs an admin key; a publisher may "
                                     "only yank its own releases", required=["admin"])
            listing = get_listing(s, name)
            _own_account(who, listing.publisher_id)
        release = change_status(s, settings, name, version, action, reason)
        answer: dict[str, Any] = {
            "listing": release.listing_name, "version": release.version,
            "status": release.status, "reason": release.status_reason}
    host = _host(request)
    if host is not None and action in ("quarantine", "revoke"):
        answer["unloaded"] = host.apply_kill_list()
    elif host is not None and action == "lift":
        reload_host(host, answer["listing"])
    return answer
