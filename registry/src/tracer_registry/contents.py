"""Members a plugin wheel may not carry, by name and by what the scanners can read.

One set of rules for publish, install (``wheels.inspect_wheel``) and certification
(``certify.contents_checks``):

- ``.pth`` files anywhere (top level or ``*.data/purelib/``): once a directory is treated
  as site-packages, their ``import`` lines run at every interpreter start;
- compiled bytecode (``.pyc``/``.pyo``): the static scan reads source only, and a cached
  ``.pyc`` runs instead of (or without) its source;
- Python source the scan cannot read: not UTF-8, a declared source encoding other than
  UTF-8 (a codec can make the interpreter read other code than the scanner), or a file
  that does not parse; archives holding Python code (zipimport loads them); and native
  machine code (extension modules, shared libraries, any ELF or Mach-O file), which no
  scan reads.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

SOURCE_SUFFIXES = (".py", ".pyw")
BYTECODE_SUFFIXES = (".pyc", ".pyo")
NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe")
# ELF and Mach-O headers (Windows PE files are caught by their suffix)
NATIVE_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_UTF8 = {"utf-8", "utf8", "utf_8", "u8", "utf-8-sig"}


def _declared_encoding(source: bytes) -> str | None:
    for line in source.splitlines()[:2]:  # PEP 263: first or second line only
        found = _CODING.match(line)
        if found:
            return found.group(1).decode("ascii", "replace").lower()
    return None


def unreadable_source(name: str, data: bytes) -> str | None:
    """Why the static scan cannot read this Python file, or None."""
    encoding = _declared_encoding(data)
    if encoding is not None and encoding not in _UTF8:
        return f"declares source encoding {encoding!r}; only UTF-8 source can be scanned"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    try:
        ast.parse(text, filename=name)
    except (SyntaxError, ValueError) as exc:
        return f"does not parse ({type(exc).__name__}: {exc})"[:200]
    return None


def _archive_with_code(data: bytes) -> bool:
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            return any(n.endswith(SOURCE_SUFFIXES + BYTECODE_SUFFIXES + (".pth",))
                       for n in inner.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def forbidden_members(names: Iterable[str], read: Callable[[str], bytes]) -> list[dict[str, str]]:
    """``[{"file", "why"}]`` for every member publish, install and certification refuse."""
    found = []
    for name in names:
        base = PurePosixPath(name).name.lower()
        why = None
        if base.endswith(".pth"):
            why = ".pth startup hook (runs at every interpreter start)"
        elif base.endswith(BYTECODE_SUFFIXES):
            why = ("compiled bytecode: the static scan reads source only, and a .pyc runs "
                   "instead of (or without) its source")
        elif (base.endswith(NATIVE_SUFFIXES) or ".so." in base
              or read(name)[:4] in NATIVE_MAGIC):
            why = ("native machine code (an extension module or library): the static scan "
                   "cannot read it")
        elif base.endswith(SOURCE_SUFFIXES):
            reason = unreadable_source(name, read(name))
            why = f"Python source that {reason}" if reason else None
        elif base.endswith((".zip", ".egg", ".whl", ".pyz")) and _archive_with_code(read(name)):
            why = "an archive holding Python code (zipimport runs it unscanned)"
        if why:
            found.append({"file": name, "why": why})
    return found
