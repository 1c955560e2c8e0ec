"""Packaging checks on the wheel's files: no pickles, no escaping paths, no undeclared
native code, no startup hooks (``.pth`` anywhere), no code the static scan cannot read
(``packaging.readable``), and every file exactly as RECORD lists it."""

from __future__ import annotations

import contextlib
import gzip
import zlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tracer_registry.certify.report import CheckResult
from tracer_registry.certify.wheel import Wheel, record_digest
from tracer_registry.contents import NATIVE_MAGIC, NATIVE_SUFFIXES, forbidden_members

if TYPE_CHECKING:
    from tracer_registry.certify.policy import Policy

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck", ".joblib", ".jbl", ".cloudpickle", ".dill",
                   ".pt", ".pth.tar", ".sav")
# protocol 2+ pickles start with PROTO (0x80) and the protocol number
PICKLE_MAGIC = tuple(bytes([0x80, p]) for p in range(2, 6))


def _head(wheel: Wheel, name: str) -> bytes:
    head = wheel.read(name)[:64]
    if name.endswith(".gz"):
        with contextlib.suppress(OSError, EOFError, zlib.error):
            head = gzip.decompress(wheel.read(name))[:64]
    return head


def check_pickles(wheel: Wheel, policy: Policy) -> CheckResult:
    found = []
    for m in wheel.members:
        if m.is_symlink:
            continue
        lower = m.name.lower()
        if lower.endswith(PICKLE_SUFFIXES) or lower.endswith(tuple(s + ".gz" for s in
                                                                    PICKLE_SUFFIXES)):
            found.append({"file": m.name, "why": "pickle-family file name"})
        elif _head(wheel, m.name).startswith(PICKLE_MAGIC):
            found.append({"file": m.name, "why": "starts with a pickle protocol header"})
    return CheckResult(
        "packaging.pickle", "failed" if found else "passed", policy.severity("packaging.pickle"),
        (f"{len(found)} pickle/joblib/cloudpickle file(s): loading them runs arbitrary code. "
         "Ship models as XGBoost JSON/UBJ and state as JSON") if found
        else f"none of the {len(wheel.members)} files is a pickle",
        {"files": found} if found else {"files_scanned": len(wheel.members)})


def check_paths(wheel: Wheel, policy: Policy) -> CheckResult:
    bad = []
    for m in wheel.members:
        name = m.name
        parts = PurePosixPath(name).parts
        if m.is_symlink:
            bad.append({"file": name, "why": "symbolic link"})
        elif name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            bad.append({"file": name, "why": "absolute path"})
        elif ".." in parts or "\\" in name or "%2e" in name.lower():
            bad.append({"file": name, "why": "parent-directory or backslash component"})
        elif PurePosixPath(name).name.lower().endswith(".pth"):  # top level or .data/
            bad.append({"file": name, "why": ".pth startup hook (runs at every interpreter "
                                             "start)"})
    return CheckResult(
        "packaging.paths", "failed" if bad else "passed", policy.severity("packaging.paths"),
        (f"{len(bad)} file path(s) would escape the install folder or run at startup; build "
         "the wheel from a clean src/ tree") if bad
        else "every path stays inside the install folder",
        {"files": bad} if bad else {"files_checked": len(wheel.members)})


def _declares_native(wheel: Wheel) -> bool:
    """A wheel declares native code with a platform tag and Root-Is-Purelib: false."""
    tags = wheel.wheel_info.get_all("Tag") or []
    purelib = (wheel.wheel_info.get("Root-Is-Purelib") or "true").strip().lower() == "true"
    return bool(tags) and not purelib and all(not t.endswith("-any") for t in tags)


def check_native(wheel: Wheel, policy: Policy) -> CheckResult:
    native = []
    for m in wheel.members:
        if m.is_symlink or m.name.endswith(".dist-info/RECORD"):
            continue
        if m.name.lower().endswith(NATIVE_SUFFIXES) or wheel.read(m.name)[:4] in NATIVE_MAGIC:
            native.append(m.name)
    declared = _declares_native(wheel)
    ok = not native or declared
    tags = wheel.wheel_info.get_all("Tag") or []
    return CheckResult(
        "packaging.native", "passed" if ok else "failed", policy.severity("packaging.native"),
        (f"{len(native)} native binary file(s) declared by platform tags {tags}" if native
         else "no native binaries") if ok else
        (f"{len(native)} native binary file(s) in a wheel tagged {tags} (pure Python); "
         "remove them, or build a platform wheel (Root-Is-Purelib: false, platform tag)"),
        {"files": native, "tags": tags, "declared": declared})


def check_record(wheel: Wheel, policy: Policy) -> CheckResult:
    record = wheel.record
    if record is None:
        return CheckResult("packaging.record", "failed", policy.severity("packaging.record"),
                           "the wheel has no RECORD; build it with a standard build backend",
                           {})
    own = f"{wheel.dist_info}/RECORD"
    mismatched, unlisted = [], []
    names = {m.name for m in wheel.members}
    for m in wheel.members:
        if m.name == own or m.name.endswith((".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")):
            continue
        listed = record.get(m.name)
        if listed is None:
            unlisted.append(m.name)
            continue
        digest, size = listed
        data = wheel.read(m.name)
        if digest != record_digest(data) or (size and size != str(len(data))):
            mismatched.append({"file": m.name, "record": digest, "actual": record_digest(data)})
    missing = sorted(n for n in record if n != own and n not in names)
    ok = not (mismatched or unlisted or missing)
    return CheckResult(
        "packaging.record", "passed" if ok else "failed", policy.severity("packaging.record"),
        f"all {len(names) - 1} files match their RECORD hashes" if ok else
        (f"the wheel's contents do not match RECORD ({len(mismatched)} changed, "
         f"{len(unlisted)} unlisted, {len(missing)} missing): the wheel was altered after it "
         "was built; rebuild it and sign the rebuilt file"),
        {"changed": mismatched, "unlisted": unlisted, "missing": missing} if not ok
        else {"files": len(names) - 1})


def check_readable(wheel: Wheel, policy: Policy) -> CheckResult:
    """Code the static scan cannot read is refused, not trusted: bytecode, native code,
    source in another encoding or that does not parse, archives of code (``.pth`` is a
    path rule)."""
    members = [m.name for m in wheel.members if not m.is_symlink]
    found = [f for f in forbidden_members(members, wheel.read)
             if not f["file"].lower().endswith(".pth")]
    return CheckResult(
        "packaging.readable", "failed" if found else "passed",
        policy.severity("packaging.readable"),
        (f"{len(found)} file(s) the static scan cannot read, first {found[0]['file']}: "
         f"{found[0]['why']}; ship UTF-8 Python source only") if found
        else f"every code file of the {len(members)} can be read by the static scan",
        {"files": found} if found else {"files_checked": len(members)})


def contents_checks(wheel: Wheel, policy: Policy) -> list[CheckResult]:
    return [check_pickles(wheel, policy), check_paths(wheel, policy),
            check_native(wheel, policy), check_record(wheel, policy),
            check_readable(wheel, policy)]
