"""Errors as RFC 9457 problem documents: one handler renders every ``TracerError``.

FastAPI's own request-validation errors and Starlette's HTTP errors (unknown route, wrong
method, unparseable body) are first turned into ``TracerError``s, so clients see one shape
everywhere: ``type``, ``title``, ``status``, ``detail`` (what was wrong and where),
``instance`` (the path) and, for input errors, ``errors`` with the index and field of each.
Unexpected exceptions become a 500 problem that never echoes a stack trace and leaves the
connection open (:class:`LastResort`).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracer.errors import (
    AuthError,
    NotFoundError,
    TracerError,
    UnavailableError,
    ValidationError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class HTTPProblem(TracerError):
    """A protocol-level error from the web framework (405, 400 unparseable body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.slug = status, f"http-{status}"
        self.title = {400: "Bad request", 405: "Method not allowed",
                      415: "Unsupported media type"}.get(status, "HTTP error")


def problem_response(request: Request, error: TracerError) -> JSONResponse:
    """The one renderer of errors: every error response of the API passes here."""
    headers = {"WWW-Authenticate": "Bearer"} if type(error) is AuthError else None
    if isinstance(error, UnavailableError):
        headers = {"Retry-After": "1"}
    return JSONResponse(error.problem(instance=request.url.path), status_code=error.status,
                        media_type=PROBLEM_JSON, headers=headers)


def _where(loc: tuple[Any, ...]) -> tuple[str, int | None, str | None]:
    """('body', 'records', 3, 'x') -> ('records[3].x', 3, 'x')."""
    parts = [p for p in loc if p not in ("body",)]
    text, index, field = "", None, None
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
            index = part
        else:
            text += f".{part}" if text else str(part)
            field = str(part)
    return text or "body", index, field


def from_request_validation(exc: RequestValidationError) -> ValidationError:
    errors = []
    for item in exc.errors():
        where, index, field = _where(tuple(item.get("loc", ())))
        errors.append({"where": where, "index": index, "field": field,
                       "message": item.get("msg", "invalid")})
    shown = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return ValidationError(f"invalid request: {shown}{more}", errors=errors[:50])


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(TracerError)
    async def tracer_error(request: Request, exc: TracerError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, from_request_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error: TracerError = NotFoundError(f"no route {request.url.path}")
        else:
            error = HTTPProblem(exc.status_code, str(exc.detail))
        return problem_response(request, error)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # the database refused a value the schemas let through (PostgreSQL text holds no
        # NUL character): the client's input, and the transaction rolled back whole
        return problem_response(request, ValidationError(
            "a value in this request cannot be stored or looked up (for example a NUL "
            "character in a parameter or text field); nothing was changed"))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # the database went away (restarted, failed over, out of connections): a 503 the
        # client may retry, with its Idempotency-Key, not an internal error
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return problem_response(request, UnavailableError(
            "the platform database is not answering; retry shortly (with the same "
            "Idempotency-Key: this request may or may not have been stored)"))

    app.add_middleware(LastResort)


class LastResort:
    """The catch-all: an exception no handler took becomes a 500 problem document, and the
    exception stops here. (Starlette's own ``Exception`` handler answers, then re-raises to
    the server, which resets the connection: the client's next, valid request on the same
    keep-alive connection would fail too.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # half an answer is out: only the server can end it
                raise
            error = TracerError(f"internal error ({type(exc).__name__}); the operator's log "
                                "has the details")
            body = json.dumps(error.problem(instance=scope.get("path"))).encode()
            await send({"type": "http.response.start", "status": error.status,
                        "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
