"""A certification report: named checks, each with a stable id, severity, fix and evidence."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "skipped"]
Severity = Literal["error", "warning"]


@dataclass
class CheckResult:
    """The outcome of one check.

    ``message`` says what was found and how to fix it; ``evidence`` holds the facts
    (files, lines, measured numbers) a reviewer needs to agree without rerunning it.
    """

    id: str
    status: Status
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.status == "failed" and self.severity == "error"


@dataclass
class Report:
    plugin: str
    version: str
    wheel: str
    wheel_sha256: str
    policy_version: str
    tracer_version: str
    checks: list[CheckResult] = field(default_factory=list)
    created_at: str = ""

    @property
    def passed(self) -> bool:
        """No failed error-severity check and nothing skipped that certification needs."""
        return not any(c.blocking or (c.status == "skipped" and c.severity == "error")
                       for c in self.checks)

    def check(self, check_id: str) -> CheckResult:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "failed"]

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "warnings": 0}
        for c in self.checks:
            out[c.status] += 1
            if c.status == "failed":
                out["errors" if c.severity == "error" else "warnings"] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["counts"] = self.counts()
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1, sort_keys=True, default=str)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        fields = {k: v for k, v in data.items() if k not in ("passed", "counts", "checks")}
        return cls(**fields, checks=[CheckResult(**c) for c in data.get("checks", [])])
