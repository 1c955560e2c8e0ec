"""Registry routes (added through ``tracer_routes``); roles via ``tracer.api.auth``.

Errors are ``TracerError``s, which the API turns into RFC 9457 problems in one place; a
refusal's problem carries ``check`` (digest, identity, issuer, trust root, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from tracer.api.auth import Principal, current_principal, require_roles, require_tenant, settings_of
from tracer.db import session
from tracer.errors import LimitError


class InstallRequest(BaseModel):
    spec: str = Field(description="NAME or NAME==VERSION", max_length=200)


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"{what} is over the upload limit of {limit} bytes", limit=limit)
    return data


def register(app: Any) -> None:
    router = APIRouter(tags=["registry"])

    @router.get("/v1/catalog")
    def catalog_search(request: Request, _: Annotated[Principal, Depends(current_principal)],
                       q: str | None = None, domain: str | None = None,
                       level: str | None = None) -> list[dict[str, Any]]:
        from tracer_registry.catalog import search

        with session(settings_of(request)) as s:
            return search(s, q, domain=domain, level=level)

    @router.get("/v1/catalog/{name:path}")
    def catalog_show(name: str, request: Request,
                     _: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
        from tracer_registry.catalog import show

        with session(settings_of(request)) as s:
            return show(s, name)

    @router.post("/v1/releases", status_code=201)
    async def publish_release(request: Request,
                              who: Annotated[Principal, Depends(require_roles("publisher"))],
                              wheel: Annotated[UploadFile, File()],
                              bundle: Annotated[UploadFile, File()],
                              domains: Annotated[str, Form()] = "") -> dict[str, Any]:
        from tracer_registry.publishing import publish

        settings = settings_of(request)
        data = await _read_limited(wheel, settings.max_upload_bytes, "the wheel")
        signature = await _read_limited(bundle, 1_000_000, "the bundle")
        with session(settings) as s:
            release = publish(s, settings, data, wheel.filename or "", signature,
                              publisher_id=who.subject,
                              domains=[d for d in domains.split(",") if d] or None)
            return {"listing": release.listing_name, "version": release.version,
                    "sha256": release.wheel_sha256, "signer": release.signer,
                    "method": release.method, "level": release.certification_level}

    @router.post("/v1/installs", status_code=201)
    def install_release(body: InstallRequest, request: Request,
                        who: Annotated[Principal, Depends(require_tenant)]) -> dict[str, Any]:
        from tracer_registry.install import install

        settings = settings_of(request)
        with session(settings) as s:
            return install(s, settings, who.tenant_id, body.spec).as_dict()

    @router.post("/v1/releases/{name}/{version}/{action}")
    def change_release(name: str, version: str, action: str, body: StatusChange,
                       request: Request,
                       _: Annotated[Principal, Depends(require_roles("admin"))]
                       ) -> dict[str, Any]:
        from tracer_registry.revocation import change_status

        settings = settings_of(request)
        with session(settings) as s:
            release = change_status(s, settings, name, version, action, body.reason)
            return {"listing": release.listing_name, "version": release.version,
                    "status": release.status, "reason": release.status_reason}

    app.include_router(router)
