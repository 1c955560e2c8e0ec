"""docs/console.md: its command exists and signs offline; the pictures it shows exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.docs.markdown import FENCE

DOC = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def test_the_documented_sign_command_signs_a_statement_offline(settings, tmp_path, capsys):
    from tracer.cli import main
    from tracer_registry.certify import attestation as att

    [block] = [m.group(2) for m in FENCE.finditer(DOC.read_text()) if m.group(1) == "bash"]
    argv = block.split()
    assert argv[:3] == ["tracer", "review", "sign"] and "--key" in argv
    key = att.save_private(att.generate_key(), tmp_path / "reviewer.pem")
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicate": {}}
    (tmp_path / "statement.json").write_text(json.dumps({"statement": statement}))
    capsys.readouterr()
    assert main(["review", "sign", str(tmp_path / "statement.json"), "--key", str(key),
                 "--json"]) == 0
    signed = json.loads(capsys.readouterr().out)
    envelope = att.envelope(att.canonical(statement))
    assert att.signature_valid(envelope, signed, att.load_private(key).public_key())
    assert main(["review", "sign", str(tmp_path / "missing.json"), "--key", str(key)]) == 1


def test_every_screenshot_the_doc_shows_is_in_the_repository():
    shown = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", DOC.read_text())
    assert shown
    missing = [p for p in shown if not (DOC.parent / p).is_file()]
    assert not missing, missing


def test_the_demo_prints_a_working_key_for_each_registry_role(settings):
    import io
    import re

    from rich.console import Console
    from tracer import db
    from tracer.db import session
    from tracer.host import PluginHost
    from tracer.tenancy import authenticate
    from tracer_registry.console.demo import run

    db.upgrade(settings, extra=PluginHost(settings).migration_trees())
    out = io.StringIO()
    run(settings, Console(file=out, width=200))
    keys = re.findall(r"^(trk_\S+)$", out.getvalue(), re.MULTILINE)
    with session(settings) as s:
        found = sorted((p.role, p.subject) for p in (authenticate(s, k) for k in keys))
    assert found == [("admin", "demo-admin"), ("publisher", "northwind"),
                     ("publisher", "tracer"), ("reviewer", "reviewer-ada")]
