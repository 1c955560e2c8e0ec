"""What the host knows about one plugin, loaded or not (``tracer plugins``, ``/v1/plugins``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PluginRecord:
    """What the host knows about one plugin, loaded or not."""

    name: str
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    status: str = "loaded"  # loaded | failed | skipped
    error: str | None = None
    domains: list[str] = field(default_factory=list)
    builtin: bool = False
    #: builtin | first-party (in-process) | third-party (confined runner) | embedded
    trust: str = "embedded"
    #: hooks a third-party plugin implements that runners cannot serve (cli, routes, ...)
    ignored_hooks: list[str] = field(default_factory=list)
    #: third-party only, as its runner saw them: where the module lives, and every
    #: ``tracer_*`` attribute with its argument names (known hooks or not)
    origin: str | None = None
    hook_signatures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
