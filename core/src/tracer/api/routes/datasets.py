"""Tenant datasets: upload (CSV or Parquet), list, read, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile

from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.responses import DatasetList, DatasetOut
from tracer.api.routes.domains import _jsonable
from tracer.datasets import delete_dataset, get_dataset, list_datasets, store_dataset
from tracer.db import session
from tracer.errors import LimitError
from tracer.installs import require_enabled

router = APIRouter(tags=["training"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]


@router.post("/v1/domains/{domain:path}/datasets", status_code=201, response_model=DatasetOut,
             summary="Upload a training dataset (CSV or Parquet)",
             responses={413: {"description": "Over api.max_upload_bytes"},
                        422: {"description": "Rows or columns that do not fit the schema"}})
def upload_dataset(domain: str, request: Request, principal: Tenant,
                   file: Annotated[UploadFile, File(description="CSV (optionally gzip) or "
                                                    "Parquet: the domain's record fields, "
                                                    "its ordering column and its label.")],
                   ) -> dict[str, Any]:
    """Validated in full against the domain's record schema before anything is stored; the
    error lists rows and columns. Nothing is saved unless the whole file is valid."""
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        require_enabled(s, principal.tenant_id, dom.name)
    content = file.file.read(p.settings.api.max_upload_bytes + 1)
    if len(content) > p.settings.api.max_upload_bytes:
        raise LimitError(f"upload over the limit of {p.settings.api.max_upload_bytes:,} bytes "
                         "(setting api.max_upload_bytes)", limit=p.settings.api.max_upload_bytes)
    row = store_dataset(p.settings, principal.tenant_id, dom, file.filename or "upload",
                        content)
    return _jsonable(row.as_dict())


@router.get("/v1/datasets", response_model=DatasetList, summary="Your datasets")
def datasets(request: Request, principal: Tenant, domain: str | None = None) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return {"datasets": [_jsonable(d.as_dict())
                             for d in list_datasets(s, principal.tenant_id, domain)]}


@router.get("/v1/datasets/{dataset_id}", response_model=DatasetOut,
            summary="One of your datasets")
def dataset(dataset_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return _jsonable(get_dataset(s, principal.tenant_id, dataset_id).as_dict())


@router.delete("/v1/datasets/{dataset_id}", status_code=204, summary="Delete a dataset")
def remove_dataset(dataset_id: str, request: Request, principal: Tenant) -> None:
    delete_dataset(platform_of(request).settings, principal.tenant_id, dataset_id)
