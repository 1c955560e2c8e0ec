"""Conformance, inside the sandbox child: the developer kit's checks (``tracer.testing``).

The same plain functions a plugin's own ``ConformanceSuite`` runs in its CI: hooks with the
contract's signatures, a complete domain and record schema, reference data that
validates, deterministic label-free features, no single feature that tells the outcome on
the held-out part (``leakage``), domains registered as declared in the source, no pickles
in the package; after training, explanations that carry the model's contributions. The
kit's own "no network at import" check starts a subprocess, which the sandbox forbids;
the sandbox's audit hook covers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_ROWS = 400
KIT = "tracer.testing.checks"


def run_conformance(host: Any, names: list[str], site: str) -> dict[str, Any]:
    from tracer.testing import checks
    from tracer.testing.target import sample_of

    from tracer_registry.certify.evaluation import predict_in_child
    from tracer_registry.certify.leakage import check_leakage

    failures: list[str] = []
    passed: list[str] = []

    def attempt(label: str, check, *args: Any) -> tuple[bool, Any]:
        try:
            result = check(*args)
        except Exception as exc:  # noqa: BLE001 -- ConformanceError or a plugin's own error
            failures.append(f"{label}: {exc}"[:400])
            return False, None
        passed.append(label)
        return True, result

    for name in names:
        attempt(f"{name}: hooks", checks.check_hooks, host, name)
    package_roots = {Path(site) / module.split(":")[0].split(".")[0] for module in
                     [getattr(host.pm.get_plugin(n), "__name__", "") for n in names] if module}
    attempt("package: no pickles", checks.check_no_pickles,
            [p for p in package_roots if p.exists()], "the plugin package")
    for domain in host.domains.values():
        where = domain.name
        if not attempt(f"{where}: domain", checks.check_domain, domain)[0]:
            continue
        ok, sample = attempt(f"{where}: sample", sample_of, domain, SAMPLE_ROWS)
        if not ok or not attempt(f"{where}: reference data", checks.check_sample,
                                 domain, sample)[0]:
            continue
        from tracer.records import validate_records

        records, labels = validate_records(domain, sample, require_label=True,
                                           require_order=True)
        if attempt(f"{where}: features", checks.check_features, host, domain, records,
                   labels)[0]:
            attempt(f"{where}: single-feature leakage", check_leakage, host, domain)
    registry_evaluation = predict_in_child(host, site)
    if not host.domains:
        failures.append("the plugin declares no domain (tracer_domains returned nothing)")
    undeclared = _undeclared_domains(host, site)
    if undeclared:
        failures.append(f"domain(s) {', '.join(undeclared)} registered at run time are not "
                        "declared as Domain(name=...) literals in the source, so their "
                        "ownership could not be checked before the code ran")
    else:
        passed.append("domains: registered ones are the declared ones")
    return {"status": "failed" if failures else "passed", "failures": failures,
            "passed": passed, "checks": len(passed) + len(failures), "kit": KIT,
            "registry_evaluation": registry_evaluation}


def _undeclared_domains(host: Any, site: str) -> list[str]:
    from tracer_registry.domains import declared_domains
    from tracer_registry.verify import Refusal

    root = Path(site)
    files = [p.relative_to(root).as_posix() for p in root.rglob("*.py")]
    try:
        declared = set(declared_domains(files, lambda n: (root / n).read_bytes()))
    except Refusal:  # reported by metadata.domains already
        declared = set()
    return sorted(set(host.domains) - declared)


def check_explanations(scorer: Any, records: Any) -> str | None:
    """The kit's explanation check on a trained model; None when it passes."""
    from tracer.testing import checks

    try:
        checks.check_explanations(scorer, records)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:400]
    return None
