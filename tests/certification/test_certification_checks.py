"""Every metadata, packaging and static check: one wheel that passes it, one that fails it.

These checks read the wheel as data; nothing here starts the sandbox.
"""

from __future__ import annotations

import pytest
from tracer import __version__
from tracer_registry.certify import REGISTRY_POLICY, Allowance
from tracer_registry.certify.contents_checks import contents_checks
from tracer_registry.certify.domain_checks import check_domains
from tracer_registry.certify.metadata_checks import metadata_checks
from tracer_registry.certify.static_checks import scan_source, static_checks
from tracer_registry.certify.wheel import Wheel

from tests.certification.build import FIXTURES, build_wheel

BENIGN = FIXTURES / "benign"


def checks_of(wheel_path, published=None, allowances=(), owned=None):
    wheel = Wheel(wheel_path)
    results = (metadata_checks(wheel, REGISTRY_POLICY, published)
               + [check_domains(wheel, REGISTRY_POLICY, owned)]
               + contents_checks(wheel, REGISTRY_POLICY)
               + static_checks(wheel, REGISTRY_POLICY, list(allowances)))
    return {c.id: c for c in results}


@pytest.fixture
def clean(tmp_path):
    return checks_of(build_wheel(BENIGN, tmp_path / "clean"), published="0.9.0")


def test_a_clean_wheel_passes_every_static_check(clean):
    assert {k: c.status for k, c in clean.items()} == dict.fromkeys(clean, "passed")
    assert len(clean) == 16
    assert clean["metadata.version-newer"].evidence == {"version": "1.0.0",
                                                        "published": "0.9.0"}
    assert clean["packaging.record"].message == "all 5 files match their RECORD hashes"


def test_invalid_version_and_mismatched_file_name_fail_name_version(tmp_path):
    bad = checks_of(build_wheel(BENIGN, tmp_path, metadata={"Version": "one.two"},
                                filename="tracer_certsample-1.0.0-py3-none-any.whl"))
    check = bad["metadata.name-version"]
    assert check.status == "failed" and check.severity == "error"
    assert "METADATA Version 'one.two' is not a PEP 440 version" in check.message


def test_a_tracer_range_excluding_this_platform_fails(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, metadata={"Requires-Dist": "tracer>=9.0"})
    check = checks_of(wheel)["metadata.tracer-range"]
    assert check.status == "failed"
    assert f"which this platform ({__version__}) does not satisfy" in check.message


def test_a_version_not_newer_than_the_published_one_fails(tmp_path):
    check = checks_of(build_wheel(BENIGN, tmp_path), published="1.0.0")[
        "metadata.version-newer"]
    assert check.status == "failed"
    assert check.message.startswith("1.0.0 is not newer than the published 1.0.0")


def test_a_license_off_the_allow_list_fails(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, metadata={"License-Expression": "MIT AND SSPL-1.0"})
    check = checks_of(wheel)["metadata.license"]
    assert (check.status, check.evidence["refused"]) == ("failed", ["SSPL-1.0"])


def test_the_template_readme_fails_as_a_warning(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, readme="# {{ cookiecutter.project_name }}\n\n"
                        "Replace this paragraph with what your domain predicts. " * 2)
    check = checks_of(wheel)["metadata.readme"]
    assert (check.status, check.severity) == ("failed", "warning")
    assert check.evidence["template_markers"] == ["{{", "cookiecutter.", "replace this paragraph"]


def test_pickles_are_found_by_name_and_by_content(tmp_path):
    import gzip
    import pickle

    wheel = build_wheel(BENIGN, tmp_path, extra={
        "certsample/model.joblib": b"anything",
        "certsample/weights.bin.gz": gzip.compress(pickle.dumps([1, 2, 3]))})
    check = checks_of(wheel)["packaging.pickle"]
    assert check.status == "failed"
    assert [f["file"] for f in check.evidence["files"]] == [
        "certsample/model.joblib", "certsample/weights.bin.gz"]


@pytest.mark.parametrize("member, why", [
    ("../outside.py", "parent-directory or backslash component"),
    ("/etc/cron.d/plugin", "absolute path"),
    ("certsample\\..\\evil.py", "parent-directory or backslash component"),
    ("zzz-startup.pth", ".pth startup hook (runs at every interpreter start)"),
])
def test_paths_that_escape_or_run_at_startup_fail(tmp_path, member, why):
    check = checks_of(build_wheel(BENIGN, tmp_path, extra={member: b"import os\n"}))[
        "packaging.paths"]
    assert check.status == "failed"
    assert check.evidence["files"] == [{"file": member, "why": why}]


def test_a_symlink_fails_paths(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, symlinks={"certsample/passwd": "/etc/passwd"})
    assert checks_of(wheel)["packaging.paths"].evidence["files"] == [
        {"file": "certsample/passwd", "why": "symbolic link"}]


def test_native_code_fails_native_unless_declared_and_readable_always(tmp_path):
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 57
    undeclared = checks_of(build_wheel(BENIGN, tmp_path / "a",
                                       extra={"certsample/fast.bin": elf}))
    declared = checks_of(build_wheel(BENIGN, tmp_path / "b", extra={"certsample/_fast.so": elf},
                                     tag="cp311-cp311-manylinux_2_28_x86_64", purelib=False))
    assert undeclared["packaging.native"].status == "failed"
    assert undeclared["packaging.native"].evidence["files"] == ["certsample/fast.bin"]
    assert declared["packaging.native"].status == "passed"
    # declared or not, machine code is a file the static scan cannot read (issue 12)
    for checks, member in ((undeclared, "certsample/fast.bin"), (declared, "certsample/_fast.so")):
        assert checks["packaging.readable"].status == "failed"
        assert checks["packaging.readable"].evidence["files"] == [
            {"file": member, "why": "native machine code (an extension module or library): "
                                    "the static scan cannot read it"}]


def test_files_changed_or_added_after_record_fail(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, after_record={
        "certsample/__init__.py": b"import os\n", "certsample/extra.py": b"x = 1\n"})
    check = checks_of(wheel)["packaging.record"]
    assert check.status == "failed"
    assert [c["file"] for c in check.evidence["changed"]] == ["certsample/__init__.py"]
    assert check.evidence["unlisted"] == ["certsample/extra.py"]


@pytest.mark.parametrize("rule, source, symbol, context", [
    ("static.network", "import urllib.request\n", "urllib.request", "at import time"),
    ("static.network", "def tracer_features():\n    import socket as s\n"
                       "    s.create_connection(('a', 1))\n", "socket", "in tracer_features()"),
    ("static.subprocess", "from os import system\nsystem('ls')\n", "os.system",
     "at import time"),
    ("static.subprocess", "import os\ndef tracer_domains():\n    os.execv('/bin/sh', [])\n",
     "os.execv", "in tracer_domains()"),
    ("static.eval-exec", "def f(code):\n    return eval(code)\n", "eval", "in f()"),
    ("static.eval-exec", "import pickle\n", "pickle", "at import time"),
    ("static.filesystem-write", "open('/tmp/x', 'a').write('1')\n", "open", "at import time"),
    ("static.filesystem-write", "from pathlib import Path\n"
                                "def h():\n    Path('x').write_text('1')\n", ".write_text",
     "in h()"),
])
def test_the_ast_scan_names_rule_symbol_and_where(rule, source, symbol, context):
    findings = scan_source(source, "plugin.py")
    assert [(f["rule"], f["symbol"], f["context"]) for f in findings][0] == (
        rule, symbol, context)


def test_ordinary_pandas_and_string_calls_are_not_findings():
    source = ("import pandas as pd\nfrom urllib.parse import urlparse\n"
              "def tracer_features(records):\n"
              "    out = records.rename(columns={'a': 'b'})\n"
              "    return out.assign(name='x'.replace('x', 'y'))\n")
    assert scan_source(source, "plugin.py") == []


@pytest.mark.parametrize("rule, code", [
    ("static.network", "import socket\n"),
    ("static.subprocess", "import subprocess\n"),
    ("static.eval-exec", "exec('1')\n"),
    ("static.filesystem-write", "import shutil\nshutil.rmtree('/')\n"),
])
def test_each_static_rule_fails_a_wheel_that_breaks_it(tmp_path, rule, code):
    wheel = build_wheel(BENIGN, tmp_path, extra={"certsample/bad.py": code.encode()})
    results = checks_of(wheel)
    assert results[rule].status == "failed"
    assert results[rule].evidence["findings"][0]["file"] == "certsample/bad.py"
    assert [k for k, c in results.items() if c.status == "failed"] == [rule]


def test_unparsable_python_fails_syntax(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, extra={"certsample/broken.py": b"def (:\n"})
    check = checks_of(wheel)["static.syntax"]
    assert check.status == "failed" and check.evidence["files"][0]["file"] == \
        "certsample/broken.py"


def test_a_reviewer_allowance_passes_one_finding_and_stays_visible(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, extra={
        "certsample/cache.py": b"def warm(p):\n    p.write_text('ok')\n",
        "certsample/other.py": b"def f(p):\n    p.write_bytes(b'')\n"})
    grant = Allowance("tracer-certsample", "static.filesystem-write", "certsample/cache.py",
                      ".write_text", "writes only under the tenant's cache dir", "reviewer-ada")
    check = checks_of(wheel, allowances=[grant])["static.filesystem-write"]
    assert check.status == "failed"  # the other file is not covered
    assert [f["file"] for f in check.evidence["findings"]] == ["certsample/other.py"]
    assert check.evidence["allowed"][0]["allowed_by"] == "reviewer-ada"
    only = build_wheel(BENIGN, tmp_path / "only", extra={
        "certsample/cache.py": b"def warm(p):\n    p.write_text('ok')\n"})
    passed = checks_of(only, allowances=[grant])["static.filesystem-write"]
    assert passed.status == "passed" and "(1 allowed by reviewers)" in passed.message


# -- issue 12: what certification missed ----------------------------------------------------

@pytest.mark.parametrize("member", ["tracer_certsample-1.0.0.data/purelib/zzz.pth",
                                    "certsample/deep/hook.pth"])
def test_a_pth_file_anywhere_fails_paths(tmp_path, member):
    check = checks_of(build_wheel(BENIGN, tmp_path, extra={member: b"import os\n"}))[
        "packaging.paths"]
    assert check.status == "failed"
    assert check.evidence["files"] == [
        {"file": member, "why": ".pth startup hook (runs at every interpreter start)"}]


@pytest.mark.parametrize("member, data, why", [
    ("certsample/__pycache__/hidden.cpython-311.pyc", b"\xa7\r\r\n" + b"\0" * 40,
     "compiled bytecode"),
    ("certsample/codec.py", b"# coding: utf-7\nx = 1\n", "declares source encoding 'utf-7'"),
    ("certsample/latin.py", b"x = '\xe9'\n", "is not UTF-8 text"),
    ("certsample/code.zip", None, "an archive holding Python code"),
])
def test_code_the_static_scan_cannot_read_fails_readable(tmp_path, member, data, why):
    if data is None:
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as inner:
            inner.writestr("evil.py", "import os\n")
        data = buffer.getvalue()
    checks = checks_of(build_wheel(BENIGN, tmp_path, extra={member: data}))
    check = checks["packaging.readable"]
    assert check.status == "failed" and check.severity == "error"
    assert [f["file"] for f in check.evidence["files"]] == [member]
    assert why in check.evidence["files"][0]["why"]


def test_resolve_name_and_path_open_for_writing_are_found():
    findings = scan_source("import pkgutil\nfrom pathlib import Path\n"
                           "run = pkgutil.resolve_name('os:system')\n"
                           "def hook():\n    Path('x').open('w').write('y')\n"
                           "def reads():\n    Path('x').open().read()\n", "p.py")
    assert [(f["rule"], f["symbol"], f["context"]) for f in findings] == [
        ("static.eval-exec", "pkgutil.resolve_name", "at import time"),
        ("static.filesystem-write", ".open", "in hook()")]


HIJACK = b'from tracer import Domain\nD = Domain(name="esports/lol-10min")\n'


def test_declaring_a_first_party_domain_fails_certification(tmp_path):
    wheel = build_wheel(BENIGN, tmp_path, extra={"certsample/hijack.py": HIJACK})
    local = checks_of(wheel)["metadata.domains"]
    assert local.status == "failed" and local.evidence["foreign"] == ["esports/lol-10min"]
    registry = checks_of(wheel, owned=["certsample"])["metadata.domains"]
    assert registry.status == "failed"
    assert "outside the publisher's claimed prefixes (certsample)" in registry.message


def test_own_domains_pass_and_a_computed_domain_name_fails(tmp_path):
    clean = checks_of(build_wheel(BENIGN, tmp_path / "a"), owned=["certsample"])
    assert clean["metadata.domains"].evidence["declared"] == ["certsample/signal"]
    assert clean["metadata.domains"].status == "passed"
    computed = checks_of(build_wheel(BENIGN, tmp_path / "b", extra={
        "certsample/dyn.py": b"from tracer import Domain\nD = Domain(name='a' + 'b')\n"}))
    check = computed["metadata.domains"]
    assert check.status == "failed"
    assert "certsample/dyn.py:2 Domain(...) whose name is not a string literal" in check.message
