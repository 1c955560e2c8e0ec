"""Metadata checks: name and version, the ``tracer`` range, newer than published, license,
README. They read the wheel's METADATA only."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from tracer import __version__ as TRACER_VERSION

from tracer_registry.certify.report import CheckResult

if TYPE_CHECKING:
    from tracer_registry.certify.policy import Policy
    from tracer_registry.certify.wheel import Wheel

_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SPDX_SPLIT = re.compile(r"\s+(?:AND|OR|WITH)\s+|[()]")

#: Sentences the plugin template's README ships with; a README still holding them was not
#: written for this plugin. Kept in step with template/ (a test renders it and compares).
TEMPLATE_README_MARKERS = (
    "{{", "cookiecutter.",
    "replace this paragraph",
    "## make it yours",
    "fill this in from `tracer train",
    "the shipped file is synthetic",
)


def _result(policy: Policy, check_id: str, ok: bool, passed: str, failed: str,
            **evidence: object) -> CheckResult:
    return CheckResult(id=check_id, status="passed" if ok else "failed",
                       severity=policy.severity(check_id), message=passed if ok else failed,
                       evidence={k: v for k, v in evidence.items() if v is not None})


def check_name_version(wheel: Wheel, policy: Policy) -> CheckResult:
    problems: list[str] = []
    name, version = wheel.name, wheel.version
    if not name or not _NAME.match(name):
        problems.append(f"METADATA Name {name!r} is not a valid distribution name")
    try:
        Version(version)
    except InvalidVersion:
        problems.append(f"METADATA Version {version!r} is not a PEP 440 version")
    try:
        file_name, file_version, _, _ = parse_wheel_filename(wheel.path.name)
        if name and file_name != canonicalize_name(name):
            problems.append(f"the file name says {file_name!r} but METADATA says {name!r}")
        if not problems and file_version != Version(version):
            problems.append(f"the file name says version {file_version} but METADATA says "
                            f"{version}")
    except (InvalidWheelFilename, InvalidVersion) as exc:
        problems.append(f"the file name is not a wheel name: {exc}")
    if wheel.dist_info is None:
        problems.append("the wheel has no single <name>-<version>.dist-info/METADATA")
    return _result(policy, "metadata.name-version", not problems,
                   f"{name} {version} is a valid name and version",
                   "; ".join(problems) + ". Build the wheel with a standard build backend "
                   "(`uv build`) from a pyproject.toml with a valid [project] name and version",
                   name=name, version=version, file=wheel.path.name, problems=problems or None)


def tracer_requirement(wheel: Wheel) -> Requirement | None:
    for line in wheel.metadata.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == "tracer" and (
                req.marker is None or req.marker.evaluate({"extra": ""})):
            return req
    return None


def check_tracer_range(wheel: Wheel, policy: Policy) -> CheckResult:
    req = tracer_requirement(wheel)
    if req is None:
        return _result(policy, "metadata.tracer-range", False, "",
                       "the wheel does not require `tracer`; add a range such as "
                       f"`tracer>={TRACER_VERSION},<{_next_minor(TRACER_VERSION)}` to "
                       "[project] dependencies", platform=TRACER_VERSION)
    ok = req.specifier.contains(Version(TRACER_VERSION), prereleases=True)
    return _result(policy, "metadata.tracer-range", ok,
                   f"requires tracer{req.specifier}, which this platform ({TRACER_VERSION}) "
                   "satisfies",
                   f"requires tracer{req.specifier}, which this platform ({TRACER_VERSION}) "
                   f"does not satisfy; widen the range to include {TRACER_VERSION}",
                   requirement=str(req), platform=TRACER_VERSION)


def _next_minor(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + 1}"


def check_newer(wheel: Wheel, policy: Policy, published: str | None) -> CheckResult:
    try:
        version = Version(wheel.version)
    except InvalidVersion:
        return _result(policy, "metadata.version-newer", False, "",
                       f"version {wheel.version!r} cannot be compared; fix "
                       "metadata.name-version first", published=published)
    if published is None:
        return _result(policy, "metadata.version-newer", True,
                       f"{wheel.name} has no published version; {version} is the first", "",
                       version=str(version), published=None)
    ok = version > Version(published)
    return _result(policy, "metadata.version-newer", ok,
                   f"{version} is newer than the published {published}",
                   f"{version} is not newer than the published {published}; bump the version "
                   "in pyproject.toml", version=str(version), published=published)


def license_ids(wheel: Wheel) -> list[str]:
    expression = wheel.metadata.get("License-Expression")
    if expression:
        return [t.strip() for t in _SPDX_SPLIT.split(expression) if t and t.strip()]
    text = (wheel.metadata.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 64:
        return [t.strip() for t in _SPDX_SPLIT.split(text) if t and t.strip()]
    return []


def check_license(wheel: Wheel, policy: Policy) -> CheckResult:
    ids = license_ids(wheel)
    refused = [i for i in ids if i not in policy.licenses]
    ok = bool(ids) and not refused
    if not ids:
        failed = ("the wheel declares no license; set `license = \"Apache-2.0\"` (an SPDX "
                  "expression) in [project]")
    else:
        failed = (f"license {', '.join(refused)} is not on the allow-list "
                  f"({', '.join(sorted(policy.licenses))}); relicense or ask the registry")
    return _result(policy, "metadata.license", ok, f"license {' / '.join(ids)} is allowed",
                   failed, licenses=ids, refused=refused or None)


def check_readme(wheel: Wheel, policy: Policy) -> CheckResult:
    text = wheel.description.strip()
    lowered = text.lower()
    found = [m for m in TEMPLATE_README_MARKERS if m.lower() in lowered]
    ok = len(text) >= 80 and not found
    failed = ("the README is still the plugin template's (or empty): describe the domain, "
              "its data and its model card in README.md")
    return _result(policy, "metadata.readme", ok, "the README is the plugin's own", failed,
                   characters=len(text), template_markers=found or None)


def metadata_checks(wheel: Wheel, policy: Policy, published: str | None) -> list[CheckResult]:
    return [check_name_version(wheel, policy), check_tracer_range(wheel, policy),
            check_newer(wheel, policy, published), check_license(wheel, policy),
            check_readme(wheel, policy)]
