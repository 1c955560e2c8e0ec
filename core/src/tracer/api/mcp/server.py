"""The MCP endpoint: the SDK's low-level server behind Tracer's own key check.

``POST /mcp`` speaks the Streamable HTTP transport of the official ``mcp`` SDK, stateless
with JSON responses (any worker behind a balancer answers any request; nothing is kept
between requests). The protocol is the SDK's; Tracer supplies two handlers (list the
tenant's tools, call one) and the gate in front of the transport.

The gate is needed because the endpoint is an ASGI app mounted on the FastAPI app, where
FastAPI dependencies do not reach: it verifies the bearer key with
:func:`tracer.api.auth.verify_key`, the function the REST dependencies use (hashed keys,
revocation, active tenant, the short verified-key cache), admits tenant keys only, and
answers a refusal with REST's status (401 or 403) and a JSON-RPC error that carries REST's
message and problem document, so an MCP client shows what was wrong. The verified principal
rides in the request scope to the handlers, which only ever act for its tenant.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tracer import __version__
from tracer.api.auth import verify_key
from tracer.api.mcp import calls, render
from tracer.api.mcp.limits import CallLimiter, with_reset
from tracer.api.mcp.tools import EXPLAIN, LIST, REPORT, WHAT_IF, domain_for_tool, tools_for
from tracer.errors import AuthError, ConfigurationError, ForbiddenError, TracerError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import Receive, Scope, Send

    from tracer.api.deps import Platform
    from tracer.tenancy import Principal

log = logging.getLogger(__name__)
PATH = "/mcp"
_PRINCIPAL = "tracer.principal"

INSTRUCTIONS = """\
Tracer answers predictions with their reasons. Call list_domains to see which domains this
key can predict (each with its model's metric and calibration), then predict_<domain> with a
record: the answer has the probability, the label at the model's threshold, the base rate,
ranked factors with sentences, a summary and a prediction_id. Keep the prediction_id: report
what really happened with report_outcome, get the answer and its reasons again with
explain_prediction, and ask what_would_change for the smallest changes that flip the label.
Each answered record is metered as one prediction; a retry with the same idempotency_key is
answered from the first call and metered once."""


class McpEndpoint:
    """The ASGI endpoint at ``/mcp`` and the SDK server behind it."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.limiter = CallLimiter(platform.settings)
        self.server: Server[Any] = Server(
            "tracer", version=__version__, title="Tracer", instructions=INSTRUCTIONS,
            description="Predictions with reasons, outcomes and what-if, per tenant.",
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            # no tool declares Mcp-Param headers: without this the SDK runs tools/list
            # before every 2026-07-28 tools/call to look for them
            get_tool_input_schema=lambda _name: None)
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The transport's task group, for one lifespan of the app (a fresh manager each
        time: the SDK runs a manager once)."""
        manager = StreamableHTTPSessionManager(
            app=self.server, json_response=True, stateless=True,
            max_request_body_size=self.platform.settings.api.max_body_bytes)
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            principal = self._verify(request)
            if self.manager is None:
                raise ConfigurationError("the MCP endpoint is not running (the app's "
                                         "lifespan did not start it)")
        except TracerError as exc:
            await _refusal(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[_PRINCIPAL] = principal
        await self.manager.handle_request(scope, receive, send)

    def _verify(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        principal = verify_key(self.platform.settings,
                               token.strip() if scheme.lower() == "bearer" else None)
        if principal.role != "tenant" or principal.tenant_id is None:
            raise ForbiddenError(f"the MCP endpoint needs a key with role tenant; yours has "
                                 f"role {principal.role}", required=["tenant"])
        return principal

    @staticmethod
    def _principal(ctx: ServerRequestContext[Any]) -> Principal:
        principal: Principal | None = \
            ctx.request.scope.get("state", {}).get(_PRINCIPAL) if ctx.request else None
        if principal is None:  # pragma: no cover - every request passes the gate
            raise AuthError("missing or invalid API key (send 'Authorization: Bearer trk_…')")
        return principal

    async def _list_tools(self, ctx: ServerRequestContext[Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        principal = self._principal(ctx)
        tools = await run_in_threadpool(tools_for, self.platform, principal.tenant)
        return types.ListToolsResult(tools=tools)

    async def _call_tool(self, ctx: ServerRequestContext[Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        principal = self._principal(ctx)
        arguments = dict(params.arguments or {})
        try:
            await run_in_threadpool(self.limiter.check, principal.key_id)  # a DB write
            structured, text = await self._dispatch(principal, params.name, arguments)
        except MCPError:
            raise
        except TracerError as exc:
            return _tool_error(with_reset(exc))
        except Exception as exc:
            log.exception("tool %s failed", params.name)
            return _tool_error(TracerError(f"internal error ({type(exc).__name__}); the "
                                           "operator's log has the details"))
        return types.CallToolResult(content=render.contents(text, structured),
                                    structured_content=structured)

    async def _dispatch(self, who: Principal, name: str, arguments: dict[str, Any]
                        ) -> tuple[dict[str, Any], str]:
        p = self.platform
        if name == REPORT:
            answer = await calls.report_outcome(p, who, arguments)
            return answer, render.reported(answer)
        if name == EXPLAIN:
            answer = await calls.explain_prediction(p, who, arguments)
            return answer, render.explanation(answer, p.host.domain(answer["domain"]).outcome)
        if name == WHAT_IF:
            answer = await calls.what_if(p, who, arguments)
            return answer, render.what_if(answer)
        if name == LIST:
            answer = await calls.list_domains(p, who, arguments)
            return answer, render.domains(answer)
        domain = domain_for_tool(p, name)
        if domain is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {name!r}: list_tools shows "
                           "the tools of this key (predict_<domain> for each enabled domain)")
        answer = await calls.predict(p, who, domain, arguments)
        return answer, render.predictions(answer, p.host.domain(domain).outcome)


def _refusal(exc: TracerError) -> Response:
    """A request refused before MCP (bad key, wrong role): the HTTP status REST gives, and a
    JSON-RPC error (the SDK's types) the client surfaces: message and problem document."""
    body = types.JSONRPCError(jsonrpc="2.0", id=None, error=types.ErrorData(
        code=types.INVALID_REQUEST, message=render.error(exc), data=exc.problem(PATH)))
    headers = {"WWW-Authenticate": "Bearer"} if type(exc) is AuthError else None
    return Response(body.model_dump_json(by_alias=True, exclude_unset=True),
                    status_code=exc.status, media_type="application/json", headers=headers)


def _tool_error(exc: TracerError) -> types.CallToolResult:
    """A refused call as an MCP tool error: the message, and the problem document (status,
    limit, field, reset time) as structured content."""
    return types.CallToolResult(content=[types.TextContent(type="text",
                                                           text=render.error(exc))],
                                structured_content=exc.problem(instance=PATH), is_error=True)
