"""Errors on console pages: the API's statuses and messages, as an HTML page.

A ``TracerError`` keeps its status (another tenant's object is a 404 exactly like a missing
one, a wrong role a 403); a signed-out visitor is sent to the sign-in with ``next``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracer.api.problems import from_request_validation
from tracer.errors import NotFoundError, TracerError

log = logging.getLogger(__name__)


def error_page(request: Request, error: TracerError) -> HTMLResponse:
    from tracer.ui import render

    return render(request, "error.html", status_code=error.status, error=error,
                  title=f"{error.status} {error.title}")


def install(app: FastAPI) -> None:
    from tracer.ui import SignInRequired

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/sign-in?next={quote(target)}", status_code=303)

    @app.exception_handler(TracerError)
    async def tracer_error(request: Request, exc: TracerError) -> HTMLResponse:
        return error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        return error_page(request, from_request_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        error = NotFoundError(f"no page {request.url.path}") if exc.status_code == 404 else \
            TracerError(str(exc.detail))
        if exc.status_code != 404:
            error.status = exc.status_code
        return error_page(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTMLResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_page(request, TracerError(
            f"internal error ({type(exc).__name__}); the operator's log has the details"))
