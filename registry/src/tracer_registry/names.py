"""Near-miss names: look-alikes of a protected name are refused or held for review.

Protected are every listing of another publisher and every first-party name (distribution
names and domain prefixes). A candidate is a near miss of a protected name when, compared
on their skeletons (below), it is

- the same skeleton (Unicode confusables: ``tracer-fr4ud``, Cyrillic ``е`` for ``e``);
- the protected name with a plural ``s`` added or removed (``tracer-frauds``);
- within edit distance 1–2 (``tracer-fraub``, ``tracer-esport``; distance 1 only for
  short names, where 2 would cover unrelated words);
- the protected name with a prefix or suffix around it (``tracer-esports-pro``,
  ``pro-tracer-esports``, ``tracer-esportspro``), or both, its plural too
  (``my-tracer-esports-pro``, ``tracer-esport-kit``).

The skeleton follows Unicode TR39: compatibility decomposition (NFKD, so fullwidth and
styled letters fold), combining marks dropped, case folded, then a confusables table that
maps look-alike characters to one prototype (a curated subset of TR39's
``confusables.txt`` for the Latin letters and digits names are made of), then
separators removed (``-``, ``_``, ``.``, ``/``, spaces) and ``rn``→``m``, ``vv``→``w``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: first-party distributions and the domain prefixes only a first-party publisher may use
FIRST_PARTY_NAMES = ("tracer-esports", "tracer-fraud")
FIRST_PARTY_DOMAINS = ("esports", "fraud")

_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "l", "ї": "l", "ј": "j",
    "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "ɡ": "g", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin look-alikes and digits
    "ı": "l", "ł": "l", "ɩ": "l", "ǀ": "l", "i": "l", "1": "l", "|": "l", "!": "l",
    "0": "o", "ø": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t",
    "8": "b", "9": "g", "6": "b", "2": "z", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d",
    "ħ": "h",
}
_SEPARATORS = set("-_./ \t·")


def skeleton(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    mapped = "".join(_CONFUSABLES.get(c, c) for c in folded)
    core = "".join(c for c in mapped if c not in _SEPARATORS)
    return core.replace("rn", "m").replace("vv", "w")


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance with adjacent transpositions, capped at ``limit``."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] \
                    and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return min(previous[-1], limit)


@dataclass(frozen=True)
class NearMiss:
    candidate: str
    protected: str
    reason: str

    def __str__(self) -> str:
        return f"{self.candidate!r} is a near miss of {self.protected!r} ({self.reason})"


def near_miss(candidate: str, protected: str) -> NearMiss | None:
    """Why ``candidate`` could be mistaken for ``protected``, or None."""
    if candidate == protected:
        return None
    a, b = skeleton(candidate), skeleton(protected)
    if not a or not b:
        return None
    found = None
    if a == b:
        found = "the same name once look-alike characters and separators are folded"
    elif a == b + "s" or b == a + "s":
        found = "a plural 's' added or removed"
    elif (distance := edit_distance(a, b)) <= (2 if min(len(a), len(b)) >= 6 else 1):
        found = f"edit distance {distance}"
    elif len(b) >= 4 and (a.startswith(b) or a.endswith(b)):
        found = "the protected name with a prefix or suffix around it"
    elif len(b) >= 6 and any(v in a for v in {b, b + "s", b.removesuffix("s")} if len(v) >= 6):
        found = "the protected name (or its plural) with a prefix and a suffix around it"
    return NearMiss(candidate, protected, found) if found else None


def first_near_miss(candidate: str, protected: list[str]) -> NearMiss | None:
    for name in protected:
        if (found := near_miss(candidate, name)) is not None:
            return found
    return None
