"""``metadata.domains``: the domains a plugin declares, read from its source, are its own.

Read as data (``domains.declared_domains``: every ``Domain(name=...)`` literal), never by
importing the plugin. In the registry the publisher's claimed prefixes decide; in an
author's local run, where no claims are known, first-party prefixes (and look-alikes of
them) are refused for any distribution that is not first party. The sandbox's conformance
run then checks that the domains the code registers are among the declared ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from tracer_registry.certify.report import CheckResult
from tracer_registry.domains import covers, declared_domains
from tracer_registry.names import FIRST_PARTY_DOMAINS, FIRST_PARTY_NAMES, near_miss
from tracer_registry.verify import Refusal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracer_registry.certify.policy import Policy
    from tracer_registry.certify.wheel import Wheel

CHECK = "metadata.domains"


def _not_owned(domains: list[str], name: str, owned: Sequence[str] | None) -> list[str]:
    if owned is not None:
        return [d for d in domains if not any(covers(p, d) for p in owned)]
    if canonicalize_name(name) in FIRST_PARTY_NAMES:
        return []
    return [d for d in domains if any(
        d.split("/")[0] == p or near_miss(d.split("/")[0], p) for p in FIRST_PARTY_DOMAINS)]


def check_domains(wheel: Wheel, policy: Policy,
                  owned: Sequence[str] | None = None) -> CheckResult:
    """``owned``: the domain prefixes the publisher claimed (None outside the registry)."""
    try:
        domains = declared_domains(wheel.python_files, wheel.read)
    except Refusal as refused:
        return CheckResult(CHECK, "failed", policy.severity(CHECK),
                           f"{refused.message}; write Domain(name=\"prefix/name\", ...) with "
                           "a literal name", {"error": refused.message})
    foreign = _not_owned(domains, wheel.name, owned)
    whose = (f"the publisher's claimed prefixes ({', '.join(owned) or 'none'})"
             if owned is not None else "a prefix that is not first party")
    return CheckResult(
        CHECK, "failed" if foreign else "passed", policy.severity(CHECK),
        (f"the plugin declares {', '.join(foreign)}, outside {whose}: claim your own prefix "
         "(`tracer publisher claim-domain`) and name the domains under it") if foreign
        else f"declares {', '.join(domains) or 'no domain'}, all under {whose}",
        {"declared": domains, "owned": list(owned) if owned is not None else None,
         "foreign": foreign})
