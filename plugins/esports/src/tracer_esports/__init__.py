"""First-party eSports domain templates for Tracer.

Two templates, each its own plugin (entry points ``esports-lol`` and ``esports-dota2``):

- ``esports/lol-10min``: League of Legends game state at minute 10 → does blue win.
- ``esports/dota2-draft``: Dota 2 hero draft before the match → does Radiant win.

Reference data ships inside the package (``tracer_esports/data``); see the README for
sources and licenses.
"""

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def data_path(name: str) -> Path:
    """Path of a reference file shipped inside the package."""
    return Path(str(files("tracer_esports") / "data" / name))
