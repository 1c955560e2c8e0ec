"""``tracer install`` from a fresh process, and installs that fail at each step.

Every failure point leaves the plugin dir as it was (nothing installed, nothing
importable, no installation row); the CLI maps every table it touches.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy.exc import IntegrityError
from tracer.db import session
from tracer_registry.errors import RegistryError
from tracer_registry.install import install
from tracer_registry.models import Installation
from tracer_registry.verify import Refusal

from tests.registry.artifacts import make_wheel
from tests.registry.attack_classes import publish_signed


def _table_modules() -> list[str]:
    """Every module of the platform and the registry that declares a table (a class
    deriving from ``Base``), found in the source so a new one is checked too."""
    import re
    from pathlib import Path

    import tracer
    import tracer_registry

    declares = re.compile(r"^class \w+\((?:[\w.]+, )*Base\b", re.MULTILINE)
    found = []
    for package in (tracer, tracer_registry):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            if "migrations" not in path.parts and declares.search(path.read_text()):
                parts = path.relative_to(root.parent).with_suffix("").parts
                found.append(".".join(parts).removesuffix(".__init__"))
    return found


TABLE_MODULES = _table_modules()


def test_the_table_modules_are_found():
    assert {"tracer.models", "tracer_registry.models",
            "tracer_registry.certify.models", "tracer_registry.ledger.models"} <= set(
        TABLE_MODULES)


@pytest.mark.parametrize("module", TABLE_MODULES)
def test_each_module_with_tables_maps_every_table_it_references(module):
    code = ("import importlib, sys\n"
            f"importlib.import_module({module!r})\n"
            "from tracer.models import Base\n"
            "missing = []\n"
            "for table in Base.metadata.tables.values():\n"
            "    for fk in table.foreign_keys:\n"
            "        try:\n"
            "            fk.column\n"
            "        except Exception as exc:\n"
            "            missing.append(str(exc).split(':')[0])\n"
            "print(missing)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout


def _state(settings):
    files = sorted(p.relative_to(settings.plugins_path).as_posix()
                   for p in settings.plugins_path.rglob("*")) if settings.plugins_path.exists() \
        else []
    with session(settings) as s:
        rows = [(r.tenant_id, r.version) for r in s.query(Installation)]
    return [f for f in files if not f.endswith("kill-list.json")], rows


def _publish(settings, key, version="1.0.0", **options):
    filename, wheel = make_wheel(version=version, **options)
    publish_signed(settings, key, filename, wheel)


def test_tracer_install_from_a_fresh_cli_process_installs_and_records(acme, publisher_key):
    _publish(acme, publisher_key)
    env = {**os.environ, "TRACER_HOME": str(acme.home)}
    done = subprocess.run([sys.executable, "-c", "from tracer.cli import main; main()",
                           "install", "acme-signal", "--tenant", "t1"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "installed acme-signal 1.0.0 (was -); domains acme/signal" in done.stdout
    files, rows = _state(acme)
    assert rows == [("t1", "1.0.0")] and "acme_signal/__init__.py" in files


def test_a_refused_download_leaves_nothing(acme, publisher_key):
    _publish(acme, publisher_key, requires_tracer=">=9")
    with pytest.raises(Refusal, match="metadata check"), session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    assert _state(acme) == ([], [])


def test_a_file_of_another_plugin_in_the_way_leaves_nothing(acme, publisher_key):
    _publish(acme, publisher_key)
    other = acme.plugins_path / "acme_signal" / "__init__.py"
    other.parent.mkdir(parents=True)
    other.write_text("# another plugin's file\n")
    with pytest.raises(Refusal, match="paths check"), session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    assert _state(acme) == (["acme_signal", "acme_signal/__init__.py"], [])
    assert other.read_text() == "# another plugin's file\n"


def test_a_plugin_that_does_not_load_leaves_nothing(acme, publisher_key):
    _publish(acme, publisher_key, body="raise RuntimeError('broken at import')")
    with pytest.raises(RegistryError, match="does not load"), session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    assert _state(acme) == ([], [])


def test_a_plugin_registering_an_undeclared_domain_leaves_nothing(acme, publisher_key):
    # the source declares acme/signal; at run time it renames itself into another prefix
    _publish(acme, publisher_key,
             body="import dataclasses; DOMAIN.__dict__.update(dataclasses.replace("
                  "DOMAIN, name='globex/churn').__dict__)")
    with pytest.raises(Refusal, match="domain check") as refused, session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    assert "globex/churn" in str(refused.value)
    assert _state(acme) == ([], [])


def test_recording_the_installation_failing_leaves_nothing(acme, publisher_key):
    _publish(acme, publisher_key)
    # no such tenant: the foreign key refuses the installation row
    with pytest.raises(IntegrityError), session(acme) as s:
        install(s, acme, "no-such-tenant", "acme-signal")
    assert _state(acme) == ([], [])


def test_the_callers_transaction_failing_after_install_leaves_the_previous_version(
        acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    with session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    before = _state(acme)
    _publish(acme, publisher_key, "1.1.0")
    with pytest.raises(RuntimeError, match="the caller failed"), session(acme) as s:
        assert install(s, acme, "t1", "acme-signal").version == "1.1.0"
        raise RuntimeError("the caller failed after the install")
    assert _state(acme) == before and before[1] == [("t1", "1.0.0")]
    assert "acme_signal-1.0.0.dist-info/RECORD" in before[0]


def test_the_commit_itself_failing_leaves_the_previous_version(acme, publisher_key):
    from sqlalchemy import event

    _publish(acme, publisher_key, "1.0.0")
    with session(acme) as s:
        install(s, acme, "t1", "acme-signal")
    before = _state(acme)
    _publish(acme, publisher_key, "1.1.0")

    def refuse_commit(_session):
        raise RuntimeError("the database refused the commit")

    with pytest.raises(RuntimeError, match="refused the commit"), session(acme) as s:
        event.listen(s, "before_commit", refuse_commit)
        assert install(s, acme, "t1", "acme-signal").version == "1.1.0"
    assert _state(acme) == before


def test_a_failing_install_from_a_fresh_cli_process_leaves_nothing(acme, publisher_key):
    _publish(acme, publisher_key, body="raise RuntimeError('broken at import')")
    env = {**os.environ, "TRACER_HOME": str(acme.home)}
    done = subprocess.run([sys.executable, "-c", "import sys; from tracer.cli import main; "
                           "sys.exit(main())", "install", "acme-signal", "--tenant", "t1"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr[-2000:])
    assert "acme-signal 1.0.0 does not load" in done.stderr
    assert "Traceback" not in done.stderr
    assert _state(acme) == ([], [])
