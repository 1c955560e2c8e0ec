"""Request body limits, enforced before any route sees the body.

A body over the limit gets a 413 problem naming the limit, whether it announced its size
(``Content-Length``) or streamed it chunked; it is never parsed. Dataset uploads have their
own, larger limit, and so do the paths plugins list in ``app.state.upload_paths`` (the
registry's wheel uploads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer.errors import LimitError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from tracer.settings import Settings

UPLOAD_SUFFIX = "/datasets"


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def _limit(self, scope: Scope) -> tuple[int, str]:
        path = scope["path"].rstrip("/")
        uploads = getattr(getattr(scope.get("app"), "state", None), "upload_paths", ())
        if path.endswith(UPLOAD_SUFFIX) or path in uploads:
            return self.settings.api.max_upload_bytes, "api.max_upload_bytes"
        return self.settings.api.max_body_bytes, "api.max_body_bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit, name = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send, limit, name, int(declared))
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(scope, send, limit, name, None)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _reject(self, scope: Scope, send: Send, limit: int, name: str,
                      declared: int | None) -> None:
        import json

        size = f" ({declared:,} bytes sent)" if declared is not None else ""
        error = LimitError(f"request body over the limit of {limit:,} bytes{size} "
                           f"(setting {name})", limit=limit, setting=name)
        body = json.dumps(error.problem(instance=scope["path"])).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(chunks: list[bytes], first: Message | None, receive: Receive) -> Any:
    pending: list[Message] = ([first] if first is not None else
                              [{"type": "http.request", "body": b"".join(chunks),
                                "more_body": False}])

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
