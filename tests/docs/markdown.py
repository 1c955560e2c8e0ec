"""Reading the docs the way the tests need them: headings and fenced code blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("using-domains.md", "writing-plugins.md", "hooks.md", "testing-plugins.md", "mcp.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    code: str

    @property
    def directive(self) -> tuple[str, str] | None:
        """``("file", path)`` or ``("template", path)`` from a first line ``# file: path``."""
        first = self.code.split("\n", 1)[0]
        match = re.match(r"#\s*(file|template):\s*(\S+)", first)
        return (match.group(1), match.group(2)) if match else None


def blocks(page: str) -> list[Block]:
    text = (DOCS / page).read_text()
    return [Block(page, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
            for m in FENCE.finditer(text)]


def headings(page: str, level: int = 2) -> list[str]:
    text = FENCE.sub("", (DOCS / page).read_text())
    return re.findall(rf"^{'#' * level} (.+?)\s*$", text, re.MULTILINE)
