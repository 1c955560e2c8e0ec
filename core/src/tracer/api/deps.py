"""What every route depends on: the :class:`Platform` object and its FastAPI dependency.

Routes import from here, never from ``tracer.api.app`` (which imports the routes to build the
app), so the app and its routers form no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracer.api.answering import PredictionService

if TYPE_CHECKING:
    from fastapi import Request

    from tracer.api.champions import ChampionCache
    from tracer.host import PluginHost
    from tracer.settings import Settings
    from tracer.tracking import ModelStore


@dataclass
class Platform:
    """What routes share: settings, plugins, the model store, the champion cache and the
    prediction service (with its group-commit writer)."""

    settings: Settings
    host: PluginHost
    store: ModelStore
    champions: ChampionCache
    predictions: PredictionService = field(init=False)

    def __post_init__(self) -> None:
        self.predictions = PredictionService(self)


def platform_of(request: Request) -> Platform:
    """The platform the app was built with (``app.state.platform``)."""
    platform: Platform = request.app.state.platform
    return platform
