"""The first-party plugins pass the same conformance suite a third-party plugin runs.

The domains are whatever the workspace's installed plugins declare (eSports, fraud, and
any added later), so a new first-party plugin is covered the day it is installed.
"""

from __future__ import annotations

import gzip
import importlib.metadata as md
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel
from tracer import hookimpl
from tracer.host import ENTRY_POINT_GROUP, PluginHost
from tracer.records import validate_records
from tracer.testing import ConformanceSuite, checks
from tracer.testing.target import conformance_for, isolated_settings

from tests.core.toy import make_frame, toy_domain

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


# -- the kit catches what it promises to catch -------------------------------------------

def toy_plugin(domain=None, **hooks):
    """The core test toy plugin, with some hooks replaced."""
    from tests.core.toy import ToyPlugin

    plugin = ToyPlugin(domain)
    for name, function in hooks.items():
        setattr(plugin, name, function)
    return plugin


def host_with(plugin, settings):
    host = PluginHost(settings, load_entrypoints=False)
    host.register(plugin, name="toy")
    return host


def test_the_toy_plugin_passes_every_cheap_check(settings):
    host = host_with(toy_plugin(), settings)
    domain = host.domain("toy/signal")
    assert checks.check_hooks(host, "toy") == ["tracer_domains", "tracer_explain",
                                               "tracer_features"]
    checks.check_domain(domain)
    records, labels = validate_records(domain, domain.load_reference(), require_label=True)
    assert checks.check_features(host, domain, records, labels).shape == (600, 3)


def test_a_misspelt_hook_is_named_with_a_suggestion(settings):
    plugin = toy_plugin()
    plugin.tracer_featurs = lambda domain, records, state: None
    with pytest.raises(checks.ConformanceError, match="tracer_featurs is not a Tracer hook; "
                                                      "did you mean tracer_features"):
        checks.check_hooks(host_with(plugin, settings), "toy")


def test_a_hook_with_fewer_arguments_than_the_spec_conforms(settings):
    @hookimpl
    def tracer_explain(prediction):  # no domain: pluggy passes only what it names
        return None

    host = host_with(toy_plugin(tracer_explain=tracer_explain), settings)
    assert "tracer_explain" in checks.check_hooks(host, "toy")


def test_a_hook_argument_the_spec_lacks_is_refused(settings):
    plugin = toy_plugin()
    host = host_with(plugin, settings)
    host.records["toy"].trust = "third-party"  # as a runner reports it: pluggy never saw it
    host.records["toy"].hook_signatures = {
        "tracer_domains": {"marked": True, "args": [], "varargs": False},
        "tracer_features": {"marked": True, "args": ["domain", "records", "state"],
                            "varargs": False},
        "tracer_explain": {"marked": True, "args": ["domain", "prediction", "tenant"],
                           "varargs": False}}
    with pytest.raises(checks.ConformanceError,
                       match=r"tracer_explain\(domain, prediction, tenant\) takes tenant, "
                             r"which tracer_explain\(domain, prediction\) does not pass"):
        checks.check_hooks(host, "toy")


def test_features_that_copy_the_label_through_the_schema_are_a_leak(settings):
    class Leaky(BaseModel):
        signal: float
        outcome_copy: int  # the label under another name

    frame = make_frame(200).assign(outcome_copy=lambda f: f["outcome"])
    domain = toy_domain(record=Leaky, load_reference=lambda: frame)

    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({"signal": records["signal"], "copy": records["outcome_copy"]})

    host = host_with(toy_plugin(domain, tracer_features=tracer_features), settings)
    records, labels = validate_records(domain, frame, require_label=True)
    with pytest.raises(checks.ConformanceError, match="feature 'copy' equals the label "
                                                      "'outcome' on every record"):
        checks.check_features(host, domain, records, labels)


def test_features_computed_from_the_batch_are_caught(settings):
    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({"signal": records["signal"] - records["signal"].mean()})

    host = host_with(toy_plugin(tracer_features=tracer_features), settings)
    domain = host.domain("toy/signal")
    records, labels = validate_records(domain, make_frame(100), require_label=True)
    with pytest.raises(checks.ConformanceError, match="record 1 gets different features "
                                                      "alone than in a batch"):
        checks.check_features(host, domain, records, labels)


def test_random_features_are_not_deterministic(settings):
    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({"noise": np.random.default_rng().normal(size=len(records))})

    host = host_with(toy_plugin(tracer_features=tracer_features), settings)
    domain = host.domain("toy/signal")
    records, labels = validate_records(domain, make_frame(100), require_label=True)
    with pytest.raises(checks.ConformanceError, match="different features for the same"):
        checks.check_features(host, domain, records, labels)


def test_pickles_are_found_by_name_content_compression_and_code(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"anything")
    (tmp_path / "weights.bin").write_bytes(pickle.dumps({"w": 1}, protocol=4))
    with gzip.open(tmp_path / "data.csv.gz", "wb") as fh:
        fh.write(pickle.dumps([1, 2], protocol=5))
    (tmp_path / "load.py").write_text("import json\nimport joblib\nx = joblib.load('m')\n")
    (tmp_path / "clean.csv").write_text("a,b\n1,2\n")
    found = checks.find_pickles([tmp_path])
    assert [f.split(": ", 1)[1] for f in sorted(found)] == [
        "holds a compressed pickle", "import joblib", "joblib.load(",
        "a .pkl file (pickle)", "starts with a pickle header"]


def test_a_plugin_that_opens_a_socket_at_import_is_caught(tmp_path):
    (tmp_path / "phone_home.py").write_text(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=0.1)\n"
        "except OSError:\n"
        "    pass  # swallowed, still reported\n")
    with pytest.raises(checks.ConformanceError,
                       match=r"touched the network: network attempts: socket\.getaddrinfo at "
                             r".*phone_home\.py:3"):
        checks.check_no_network_at_import("phone_home", extra_path=[str(tmp_path)])
    (tmp_path / "quiet.py").write_text("import socket\nPORT = 80\n")
    checks.check_no_network_at_import("quiet", extra_path=[str(tmp_path)])


def test_an_uninstalled_domain_is_refused_with_what_is_installed(tmp_path):
    with pytest.raises(checks.ConformanceError, match=r"no installed plugin provides domain "
                                                      r"'acme/nope' \(installed domains: .*"
                                                      r"esports/lol-10min"):
        conformance_for("acme/nope", tmp_path / "home")


def test_the_pytest_plugin_imports_nothing_heavy_and_loads_no_plugin():
    code = ("import sys, tracer.testing.pytest_plugin\n"
            "heavy = ['pandas', 'xgboost', 'mlflow', 'sklearn', 'tracer.host', "
            "'tracer_esports', 'tracer_fraud']\n"
            "print([m for m in heavy if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
