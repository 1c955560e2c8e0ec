"""First-party eSports domain templates for Tracer.

Two templates, each its own plugin (entry points ``esports-lol`` and ``esports-dota2``):

- ``esports/lol-10min``: League of Legends game state at minute 10 → does blue win.
- ``esports/dota2-draft``: Dota 2 hero draft before the match → does Radiant win.

Reference data ships inside the package (``tracer_esports/data``); see the README for
sources and licenses.
"""

from importlib.resources import files
from pathlib import Path

from tracer import Explanation
from tracer.explain import rank_factors

__version__ = "0.1.0"


def explain_matchup(prediction, sentence, sides: tuple[str, str], even: str,
                    context: str = "") -> Explanation:
    """Every factor ranked (the scorer keeps as many as asked) and a "who is favoured" summary.

    ``sides`` names the side the probability is about first ("Blue", "Red").
    """
    factors = rank_factors(prediction, sentence, top=len(prediction.contributions))
    p = prediction.probability
    favourite, chance = (sides[0], p) if p >= 0.5 else (sides[1], 1 - p)
    reasons = "; ".join(f.sentence for f in factors[:2]) or even
    return Explanation(factors=factors,
                       summary=f"{favourite} is favoured to win ({chance:.0%}){context}: "
                               f"{reasons}.")


def data_path(name: str) -> Path:
    """Path of a reference file shipped inside the package."""
    return Path(str(files("tracer_esports") / "data" / name))
