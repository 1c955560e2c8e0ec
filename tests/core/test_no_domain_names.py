"""Core knows no domain: nothing in ``core/src`` names a first-party domain or its data.

Fraud and eSports must be built on the public contract alone, so core source (code,
docstrings, help texts, examples) never mentions them. The words checked are the
namespaces and template names the workspace's plugins declare, plus the names of their
games and data sources. "model card" is core vocabulary, so ``card`` counts only on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core" / "src"

#: first-party domain words; matched case-insensitively on word boundaries
DOMAIN_WORDS = (
    "esports", "e-sports", "lol", "league of legends", "riot", "dota", "dota2", "radiant",
    "fraud", "fraudulent", "fraudster", "card", "cards", "creditcard", "cardholder", "ulb",
    "worldline",
)
ALLOWED_PHRASES = re.compile(r"model[ _-]cards?", re.IGNORECASE)


def domain_word_pattern(words) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # a word boundary that also treats '_' as a separator: ``lol_record`` names LoL
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])", re.IGNORECASE)


def offending_lines(root: Path, pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc",):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(ALLOWED_PHRASES.sub("", line)):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_the_pattern_finds_domain_words_on_word_boundaries_only():
    pattern = domain_word_pattern(DOMAIN_WORDS)
    hits = ["domain esports/lol-10min", "a missed fraud costs", "LOL_RECORD_EXAMPLE",
            "Card payments", "dota2-draft"]
    misses = ["render_model_card", "the model card", "discard the row", "lollipop",
              "defrauded", "ulbrich"]
    assert [bool(pattern.search(ALLOWED_PHRASES.sub("", t))) for t in hits] == [True] * 5
    assert [bool(pattern.search(ALLOWED_PHRASES.sub("", t))) for t in misses] == [False] * 6


def test_the_workspace_domains_use_words_the_check_knows(host):
    names = {part for name in host.domains for part in re.split(r"[/-]", name)}
    assert {"esports", "lol", "fraud", "card"} <= names
    pattern = domain_word_pattern(DOMAIN_WORDS)
    assert all(pattern.search(name) for name in host.domains)


def test_core_source_names_no_domain():
    assert offending_lines(CORE, domain_word_pattern(DOMAIN_WORDS)) == []
