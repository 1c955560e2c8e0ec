"""The admin's core page: tenants (plugins add theirs: releases, commission)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracer.api.routes import admin
from tracer.tenancy import Principal
from tracer.ui import NavLink, page_for, render

router = APIRouter()
NAV = [NavLink("Tenants", "/ui/admin", ("admin",))]
AdminPage = Annotated[Principal, Depends(page_for("admin"))]


@router.get("/admin")
def tenants(request: Request, who: AdminPage) -> Response:
    return render(request, "admin.html", title="Tenants",
                  tenants=admin.tenants(request, who)["tenants"])
