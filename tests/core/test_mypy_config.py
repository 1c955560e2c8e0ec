"""mypy.ini keeps `tracer` core strict: the section for core lists every flag of mypy's
`--strict`, read from mypy itself, so an upgrade that adds a strict flag fails here instead
of quietly checking less. (`strict = True` cannot be written per module: mypy then turns
every strict flag on for every package, the registry and plugins included.)"""

import configparser
from pathlib import Path

from mypy.main import define_options

CONFIG = Path(__file__).parents[2] / "mypy.ini"
#: flags mypy reads only from the [mypy] section
GLOBAL_ONLY = {"warn_redundant_casts", "warn_unused_configs"}


def _flags(section: configparser.SectionProxy) -> dict[str, bool]:
    """A section's boolean flags as mypy's option names (``no_x = True`` is ``x = False``)."""
    out = {}
    for key in section:
        if key in {"disable_error_code", "files", "python_version", "untyped_calls_exclude"}:
            continue
        value = section.getboolean(key)
        out[key.removeprefix("no_") if key.startswith("no_") else key] = (
            not value if key.startswith("no_") else value)
    return out


def test_core_section_has_every_strict_flag():
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    strict = dict(define_options()[2])  # mypy's (option, value) pairs for --strict
    core, top = _flags(parser["mypy-tracer.*"]), _flags(parser["mypy"])
    for option, value in strict.items():
        where = top if option in GLOBAL_ONLY else core
        assert where.get(option) == value, f"{option} = {value} missing from mypy.ini"


def test_no_per_module_strict_and_nothing_ignored():
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    for name in parser.sections():
        if name.startswith("mypy-"):
            assert "strict" not in parser[name], f"[{name}]: strict = applies to every module"
            assert not parser[name].getboolean("ignore_errors", False), f"[{name}] ignored"
