"""Static safety: an AST scan of every Python file in the wheel, nothing imported.

Four rules, each its own check: network, subprocess, eval-exec (any way of running code
that is not in the file: eval, exec, compile, ``__import__``, pickle, marshal, ctypes) and
filesystem-write. Module-level code runs at import and hook bodies run on every call, so
the whole file is scanned and each finding says where it sits (import time or which
function). A reviewer may allow one finding (rule, file, symbol) with a reason; allowed
findings stay in the report, marked with who allowed them and why.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from tracer_registry.certify.report import CheckResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracer_registry.certify.policy import Policy
    from tracer_registry.certify.wheel import Wheel

RULES = ("static.network", "static.subprocess", "static.eval-exec", "static.filesystem-write")

NETWORK_MODULES = {"socket", "ssl", "http.client", "http.server", "urllib.request",
                   "urllib3", "requests", "httpx", "aiohttp", "ftplib", "smtplib", "poplib",
                   "imaplib", "telnetlib", "xmlrpc", "socketserver", "websocket", "websockets",
                   "paramiko", "grpc", "asyncio.open_connection", "asyncio.start_server"}
SUBPROCESS_MODULES = {"subprocess", "pty", "multiprocessing", "os.system", "os.popen",
                      "os.fork", "os.forkpty", "os.posix_spawn", "os.posix_spawnp", "os.kill",
                      "os.killpg", *(f"os.exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve",
                                                              "vp", "vpe")),
                      *(f"os.spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp",
                                                 "vpe")),
                      "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell"}
CODE_MODULES = {"builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
                "pickle", "_pickle", "cPickle", "marshal", "dill", "cloudpickle", "joblib",
                "shelve", "ctypes", "cffi", "importlib.import_module", "importlib.__import__",
                "runpy", "code", "codeop", "pkgutil.resolve_name", "importlib.util",
                "importlib.machinery", "zipimport"}
WRITE_FUNCTIONS = {"os.remove", "os.unlink", "os.rename", "os.renames", "os.replace",
                   "os.makedirs", "os.mkdir", "os.rmdir", "os.removedirs", "os.chmod",
                   "os.chown", "os.link", "os.symlink", "os.truncate", "os.mkfifo",
                   "os.write", "shutil", "numpy.save", "numpy.savez", "numpy.savetxt",
                   "tempfile.mkstemp"}
WRITE_METHODS = {"write_text", "write_bytes", "touch", "mkdir", "unlink", "rmdir",
                 "rename", "replace", "symlink_to", "hardlink_to", "chmod", "to_csv",
                 "to_parquet", "to_pickle", "to_feather", "to_excel", "to_hdf", "to_sql",
                 "save_model", "savefig", "open"}
BUILTIN_CODE = {"eval", "exec", "compile", "__import__"}
_MODULE_OPENS = ("io.open", "os.open", "codecs.open", "builtins.open")


@dataclass(frozen=True)
class Allowance:
    """A reviewer's visible exception for one finding of one plugin."""

    plugin: str
    rule: str
    file: str
    symbol: str
    reason: str
    granted_by: str

    def covers(self, plugin: str, finding: dict[str, Any]) -> bool:
        return (canonicalize_name(self.plugin) == canonicalize_name(plugin)
                and self.rule == finding["rule"] and self.file == finding["file"]
                and self.symbol == finding["symbol"])


def _matches(qualified: str, names: set[str]) -> bool:
    return any(qualified == n or qualified.startswith(n + ".") for n in names)


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.aliases: dict[str, str] = {}
        self.where: list[str] = []
        self.findings: list[dict[str, Any]] = []

    def _add(self, rule: str, node: ast.AST, symbol: str, what: str) -> None:
        context = f"in {'.'.join(self.where)}()" if self.where else "at import time"
        self.findings.append({"rule": rule, "file": self.file, "line": getattr(node, "lineno", 0),
                              "symbol": symbol, "context": context, "what": what})

    def _classify(self, qualified: str, node: ast.AST, what: str) -> None:
        for rule, names in (("static.network", NETWORK_MODULES),
                            ("static.subprocess", SUBPROCESS_MODULES),
                            ("static.eval-exec", CODE_MODULES),
                            ("static.filesystem-write", WRITE_FUNCTIONS)):
            if _matches(qualified, names):
                self._add(rule, node, qualified, what)
                return

    # -- names ---------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[(alias.asname or alias.name).split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0])
            self._classify(alias.name, node, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports stay inside the plugin
        for alias in node.names:
            qualified = f"{node.module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = qualified
            self._classify(qualified if not _matches(node.module, NETWORK_MODULES |
                                                     SUBPROCESS_MODULES | CODE_MODULES)
                           else node.module, node, f"from {node.module} import {alias.name}")

    def _qualified(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    # -- scopes --------------------------------------------------------------------------

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.where.append(name)
        self.generic_visit(node)
        self.where.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._scoped(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name)

    # -- calls ---------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.aliases:
            if func.id in BUILTIN_CODE:
                self._add("static.eval-exec", node, func.id, f"{func.id}(...)")
            elif func.id == "open" and self._writes(node):
                self._add("static.filesystem-write", node, "open", "open(..., 'w')")
            elif func.id in ("getattr", "setattr") and any(
                    isinstance(a, ast.Constant) and a.value in BUILTIN_CODE for a in node.args):
                self._add("static.eval-exec", node, func.id, f"{func.id}(..., a code builtin)")
            elif func.id == "getattr" and len(node.args) >= 2 and isinstance(
                    node.args[1], ast.Constant) and isinstance(node.args[1].value, str) and (
                    base := self._qualified(node.args[0])):
                # getattr(pkgutil, "resolve_name"): the attribute named by a literal
                self._classify(f"{base}.{node.args[1].value}", node,
                               f"getattr({base}, {node.args[1].value!r})")
        qualified = self._qualified(func)
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if qualified and isinstance(root, ast.Name) and root.id in self.aliases:
            if qualified in _MODULE_OPENS:
                if self._writes(node):
                    self._add("static.filesystem-write", node, qualified, f"{qualified}(...)")
            else:
                self._classify(qualified, node, f"{qualified}(...)")
        if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS \
                and self._path_like_call(func.attr, node) and not (
                    func.attr == "open" and (qualified in _MODULE_OPENS
                                             or not self._writes_method(node))):
            self._add("static.filesystem-write", node, f".{func.attr}", f".{func.attr}(...)")
        self.generic_visit(node)

    @staticmethod
    def _path_like_call(method: str, node: ast.Call) -> bool:
        """``Path.rename(target)``/``Path.replace(target)`` take one argument; the
        str/DataFrame methods of the same names take two or keywords."""
        if method in ("rename", "replace"):
            return len(node.args) == 1 and not node.keywords and not (
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))
        return True

    @staticmethod
    def _writes_method(node: ast.Call) -> bool:
        """``Path.open("w")``: a literal write mode first, or a ``mode=`` keyword (other
        ``.open(x)`` calls, such as ``gzip.open(path)``, take a path first)."""
        keyword = next((k.value for k in node.keywords if k.arg == "mode"), None)
        mode = keyword if keyword is not None else (node.args[0] if node.args else None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            return any(c in mode.value for c in "wax+")
        return keyword is not None

    @staticmethod
    def _writes(node: ast.Call) -> bool:
        mode = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg in ("mode", "flags")), None)
        if mode is None:
            return False
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            return any(c in mode.value for c in "wax+")
        return True  # a computed mode or os.O_* flags: assume it writes


def scan_source(source: str, file: str) -> list[dict[str, Any]]:
    scanner = _Scanner(file)
    scanner.visit(ast.parse(source, filename=file))
    return scanner.findings


def static_checks(wheel: Wheel, policy: Policy,
                  allowances: Sequence[Allowance] = ()) -> list[CheckResult]:
    findings: list[dict[str, Any]] = []
    unparsable: list[dict[str, Any]] = []
    files = wheel.python_files
    for name in files:
        try:
            findings += scan_source(wheel.read(name).decode("utf-8"), name)
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            unparsable.append({"file": name, "error": f"{type(exc).__name__}: {exc}"})
    results = []
    for rule in RULES:
        mine = [f for f in findings if f["rule"] == rule]
        allowed, blocking = [], []
        for f in mine:
            grant = next((a for a in allowances if a.covers(wheel.name, f)), None)
            if grant is not None:
                allowed.append({**f, "allowed_by": grant.granted_by, "reason": grant.reason})
            else:
                blocking.append(f)
        what = rule.split(".", 1)[1]
        if blocking:
            first = blocking[0]
            message = (f"{len(blocking)} {what} finding(s), first {first['file']}:"
                       f"{first['line']} {first['what']} {first['context']}. Plugins must not "
                       f"do this at import or in hooks; remove it (the platform gives you "
                       "data and records), or ask a reviewer for a visible allowance")
        else:
            message = (f"no {what} in {len(files)} Python files"
                       + (f" ({len(allowed)} allowed by reviewers)" if allowed else ""))
        results.append(CheckResult(rule, "failed" if blocking else "passed",
                                   policy.severity(rule), message,
                                   {"findings": blocking, "allowed": allowed,
                                    "files_scanned": len(files)}))
    results.append(CheckResult(
        "static.syntax", "failed" if unparsable else "passed", policy.severity("static.syntax"),
        (f"{len(unparsable)} Python file(s) cannot be parsed, so they cannot be checked; "
         "fix the syntax") if unparsable else f"all {len(files)} Python files parse",
        {"files": unparsable} if unparsable else {"files": len(files)}))
    return results
