"""The web console: server-rendered pages under ``/ui`` in the API's own process.

``mount_console(app)`` mounts a sub-application at ``/ui`` and leaves the ``Console`` on
``app.state.console`` *before* plugins' ``tracer_routes(app)`` run, so a plugin adds its
pages the same way it adds API routes::

    @hookimpl
    def tracer_routes(app):
        console = getattr(app.state, "console", None)
        if console is not None:
            console.add_pages(router, templates=Path(__file__).parent / "templates",
                              nav=[NavLink("Review queue", "/ui/reviews", ("reviewer",))])

Pages call the same functions the API routes call (often the route functions themselves),
with the principal the session resolved: roles and tenant isolation are the API's. Nothing
is loaded from outside the server: one stylesheet, one small script, charts as inline SVG.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.errors import ForbiddenError
from tracer.tenancy import Principal
from tracer.ui import sessions

HERE = Path(__file__).parent
PREFIX = "/ui"
__all__ = ["Console", "NavLink", "Page", "PostForm", "TenantPage", "mount_console", "page_for",
           "render"]


@dataclass(frozen=True)
class NavLink:
    label: str
    path: str
    roles: tuple[str, ...] = ()  # empty: everyone, signed in or not


class SignInRequired(Exception):
    """Raised by page dependencies; the console answers with a redirect to the sign-in."""


class Console:
    """The ``/ui`` sub-application, its templates and its navigation."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.secret = sessions.secret_of(platform.settings)
        self.app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        self.app.state.platform = platform  # lets the API's route functions run here
        self.app.state.settings = platform.settings
        self.app.state.console = self
        self.app.state.homes = {}  # role -> the page it lands on after signing in
        self._dirs = [str(HERE / "templates")]
        self.env = Environment(loader=ChoiceLoader([]), autoescape=select_autoescape())
        self._reload_loader()
        self.env.filters["markdown"] = markdown
        self.env.filters["money"] = money
        self.templates = Jinja2Templates(env=self.env)
        self.nav: list[NavLink] = []
        #: page name -> callables(request, principal) returning HTML (or None) that a
        #: plugin shows on a core page, e.g. the ledger's spend on the tenant dashboard
        self.sections: dict[str, list[Callable[..., Any]]] = {}
        self.app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
        from tracer.ui import errors

        errors.install(self.app)

    def _reload_loader(self) -> None:
        self.env.loader = ChoiceLoader([FileSystemLoader(d) for d in self._dirs])

    def add_pages(self, router: APIRouter, *, templates: Path | None = None,
                  nav: Iterable[NavLink] = (), homes: dict[str, str] | None = None) -> None:
        """Add a plugin's pages (paths relative to ``/ui``), templates, nav links and the
        pages roles land on after signing in."""
        self.app.state.homes.update(homes or {})
        if templates is not None and str(templates) not in self._dirs:
            self._dirs.append(str(templates))
            self._reload_loader()
        self.nav.extend(nav)
        self.app.include_router(router)

    def add_section(self, page: str, section: Callable[..., Any]) -> None:
        """Show ``section(request, principal)``'s HTML on a core page (``"dashboard"``)."""
        self.sections.setdefault(page, []).append(section)

    def sections_of(self, page: str, request: Request, principal: Principal) -> list[Any]:
        return [html for section in self.sections.get(page, [])
                if (html := section(request, principal))]

    def nav_for(self, principal: Principal | None) -> list[NavLink]:
        role = principal.role if principal else None
        return [n for n in self.nav if not n.roles or role in n.roles]


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page with the layout's context: who is signed in, the nav, the CSRF token."""
    console: Console = request.app.state.console
    principal = sessions.principal_or_none(request)
    token, fresh = sessions.csrf_token(request)
    context.setdefault("title", "Tracer")
    response = console.templates.TemplateResponse(
        request, template, {"principal": principal, "nav": console.nav_for(principal),
                            "csrf": token, "csrf_field": sessions.CSRF_FIELD, **context},
        status_code=status_code)
    sessions.set_csrf_cookie(request, response, fresh)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(path: str) -> RedirectResponse:
    """After a POST: back to a page (303, so a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


def page_for(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A page dependency: the signed-in principal, with one of ``roles`` (any when empty).

    Signed out → redirect to the sign-in; another role → 403, as the API answers.
    """
    async def dependency(request: Request) -> Principal:
        principal = sessions.principal_or_none(request)
        if principal is None:
            raise SignInRequired()
        if roles and principal.role not in roles:
            raise ForbiddenError(f"this page needs a key with role {' or '.join(roles)}; "
                                 f"you are signed in with role {principal.role}")
        return principal

    return dependency


async def checked_form(request: Request) -> dict[str, str]:
    """A POSTed form whose CSRF token matched (403 otherwise); values as strings."""
    form = await request.form()
    token = form.get(sessions.CSRF_FIELD)
    sessions.check_csrf(request, token if isinstance(token, str) else None)  # a file: no token
    return {k: v for k, v in form.items() if isinstance(v, str)}


Page = Annotated[Principal, Depends(page_for())]


async def _tenant_page(principal: Annotated[Principal, Depends(page_for("tenant"))]
                       ) -> TenantPrincipal:
    """A tenant's page: the principal the API's tenant routes take, which the pages call."""
    return await require_tenant(principal)


TenantPage = Annotated[TenantPrincipal, Depends(_tenant_page)]
PostForm = Annotated[dict[str, str], Depends(checked_form)]


def markdown(text: str | None, shift: int = 2) -> Markup:
    """Markdown (tables on, raw HTML off: what a publisher wrote cannot inject markup).

    Headings move ``shift`` levels down: a model card's ``#`` sits under the page's own
    ``h1`` and the section's ``h2``, so the page keeps one outline."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + shift)}"
    return Markup(md.renderer.render(tokens, md.options, {}))


def money(minor: int | float | None, currency: str = "USD", micros: bool = False) -> str:
    if minor is None:
        return "–"
    value = minor / (1_000_000 if micros else 100)
    return f"{value:,.{6 if micros and value < 0.01 else 2}f} {currency}"


def mount_console(app: FastAPI) -> Console:
    """Mount ``/ui`` on the API app, with the core pages; plugins add theirs after."""
    console = Console(app.state.platform)
    from tracer.ui import admin, dashboard, pages

    console.nav.extend([*pages.NAV, *admin.NAV])
    console.app.state.homes.update(pages.HOMES)
    for module in (pages, dashboard, admin):
        console.app.include_router(module.router)
    app.state.console = console
    app.mount(PREFIX, console.app, name="ui")
    return console
