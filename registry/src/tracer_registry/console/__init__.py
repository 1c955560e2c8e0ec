"""The registry's console pages, added through ``tracer_routes`` like its API routes.

Each plugin of this distribution adds its own pages: the registry the catalog, a
publisher's releases and the admin's release controls; certification the review queue;
the ledger payout statements and the commission report. Pages call the same functions as
the API routes (``tracer_registry.routes``, the certification and ledger services) with the
principal the console's session resolved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


def console_of(app: Any) -> Any:
    """The web console mounted on ``app``, or None (an API without it, e.g. in a test)."""
    return getattr(app.state, "console", None)


def register(app: Any) -> None:
    console = console_of(app)
    if console is None:
        return
    from tracer.ui import NavLink

    from tracer_registry.console import catalog

    console.add_pages(catalog.router, templates=TEMPLATES, nav=[
        NavLink("Catalog", "/ui/catalog"),
        NavLink("Releases", "/ui/publisher", ("publisher",)),
        NavLink("Releases", "/ui/admin/releases", ("admin",))],
        homes={"publisher": "/ui/publisher"})


def register_reviews(app: Any) -> None:
    console = console_of(app)
    if console is None:
        return
    from tracer.ui import NavLink

    from tracer_registry.console import reviews

    console.add_pages(reviews.router, templates=TEMPLATES,
                      nav=[NavLink("Review queue", "/ui/reviews", ("reviewer",))],
                      homes={"reviewer": "/ui/reviews"})
