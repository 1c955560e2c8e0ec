"""The shipped Prometheus rules: valid for promtool, their alerts fire as meant (promtool's
rule unit tests), and every metric they use is one /metrics exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

RULES = REPO / "deploy" / "prometheus" / "tracer-rules.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "tracer-rules.test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus; "
    ".ci/promtool installs it in CI)")


def _promtool(*args: str | Path) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
def test_promtool_accepts_the_rules():
    assert "SUCCESS" in _promtool("check", "rules", RULES)


@needs_promtool
def test_burn_rate_alerts_fire_on_a_fast_burn_and_not_on_a_healthy_service():
    assert "SUCCESS" in _promtool("test", "rules", RULE_TESTS)


def used_metrics() -> set[str]:
    rules = [r for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]]
    recorded = {r["record"] for r in rules if "record" in r}
    names = set()
    for rule in rules:
        names |= set(re.findall(r"\b(tracer_[a-z_]+)\b", rule["expr"]))
    assert recorded and names, "the rules file uses no metric"
    return names


def test_every_metric_the_rules_use_is_exported(bare_host, store, settings):
    from fastapi.testclient import TestClient
    from prometheus_client.parser import text_string_to_metric_families
    from tracer import tenancy
    from tracer.api import create_app
    from tracer.db import session
    from tracer.models import TrainingJob

    with session(settings) as s:
        tenancy.create_tenant(s, "acme", "Acme", "starter", settings.tiers)
        _, admin = tenancy.issue_key(s, "admin", subject="ops")
        s.add(TrainingJob(id="j-1", tenant_id="acme", domain="d", status="failed"))
    app = create_app(settings, bare_host, store)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/v1/domains")  # one request: the request series exist
        text = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).text
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    missing = used_metrics() - exported
    assert not missing, f"the rules use metrics /metrics does not export: {sorted(missing)}"
