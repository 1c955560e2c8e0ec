"""The first-party plugins pass the same conformance suite a third-party plugin runs.

The domains are whatever the workspace's installed plugins declare (eSports, fraud, and
any added later), so a new first-party plugin is covered the day it is installed.
"""

from __future__ import annotations

import importlib.metadata as md
import tempfile
from pathlib import Path

from tracer.host import ENTRY_POINT_GROUP, PluginHost
from tracer.testing import ConformanceSuite
from tracer.testing.target import isolated_settings

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = {"tracer-esports", "tracer-fraud"}


def workspace_host() -> PluginHost:
    with tempfile.TemporaryDirectory() as home:
        return PluginHost(isolated_settings(Path(home)))


def workspace_domains() -> list[str]:
    host = workspace_host()
    return sorted(d for d in host.domains
                  if host.records[host.owner(d)].distribution in WORKSPACE)


WORKSPACE_DOMAINS = workspace_domains()


def test_the_workspace_declares_domains_to_check():
    assert "esports/lol-10min" in WORKSPACE_DOMAINS


def test_every_workspace_entry_point_loads():
    declared = [ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)
                if ep.dist is not None and ep.dist.metadata["Name"] in WORKSPACE]
    host = workspace_host()
    failed = {name: host.records[name].error for name in declared
              if host.records[name].status != "loaded"}
    assert failed == {}


class TestWorkspacePlugins(ConformanceSuite, domain=WORKSPACE_DOMAINS):
    """Contract, schema, features, training, explanations, no pickle, no network."""
