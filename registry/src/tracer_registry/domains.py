"""Domain namespaces: who owns a domain prefix, and which domains a wheel declares.

A publisher claims a prefix (``acme`` owns ``acme/churn`` and ``acme/churn/v2``) the way it
claims a distribution namespace; claims never overlap between publishers, first-party
prefixes (``names.FIRST_PARTY_DOMAINS``) are for first-party publishers only, and a claim
that is a near miss of another publisher's prefix is refused.

The domains a release declares are read from its source without importing it: every
``Domain(name=...)`` call in the wheel's Python files. A name that is not a string literal
cannot be checked before the code runs, so such a wheel is refused. At install and in
certification the domains the code registers when it runs must be among these.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from tracer.errors import ConflictError, ValidationError

from tracer_registry.models import DomainClaim, Publisher
from tracer_registry.names import FIRST_PARTY_DOMAINS, near_miss
from tracer_registry.verify import Refusal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy.orm import Session

_SEGMENT = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def normalize_prefix(prefix: str) -> str:
    value = prefix.strip().strip("/").lower()
    if not value or len(value) > 128 or not all(_SEGMENT.match(p) for p in value.split("/")):
        raise ValidationError(f"domain prefix {prefix!r}: segments of lower-case letters, "
                              "digits and '-', separated by '/'", field="prefix")
    return value


def covers(prefix: str, domain: str) -> bool:
    return domain == prefix or domain.startswith(prefix + "/")


def _overlaps(a: str, b: str) -> bool:
    return covers(a, b) or covers(b, a)


def claim_domain(s: Session, publisher_id: str, prefix: str) -> DomainClaim:
    """Give ``publisher_id`` the domain prefix; refused if anyone else's claim is near."""
    publisher = s.get(Publisher, publisher_id)
    if publisher is None:
        raise ValidationError(f"publisher {publisher_id!r} does not exist", field="publisher")
    prefix = normalize_prefix(prefix)
    first = prefix.split("/")[0]
    if not publisher.first_party:
        for reserved in FIRST_PARTY_DOMAINS:
            if first == reserved or near_miss(first, reserved):
                raise ConflictError(f"domain prefix {prefix!r} is (or looks like) the "
                                    f"first-party prefix {reserved!r}", prefix=prefix)
    for row in s.scalars(select(DomainClaim)):
        if row.publisher_id == publisher_id:
            continue
        if _overlaps(prefix, row.prefix):
            raise ConflictError(f"domain prefix {prefix!r} overlaps {row.prefix!r}, which "
                                f"publisher {row.publisher_id!r} owns", prefix=prefix)
        if (found := near_miss(first, row.prefix.split("/")[0])) is not None:
            raise ConflictError(f"domain prefix {prefix!r}: {found}, which publisher "
                                f"{row.publisher_id!r} owns", prefix=prefix)
    existing = s.get(DomainClaim, prefix)
    if existing is not None:
        return existing
    row = DomainClaim(prefix=prefix, publisher_id=publisher_id)
    s.add(row)
    s.flush()
    return row


def domain_owner(s: Session, domain: str) -> str | None:
    """The publisher whose (longest) claimed prefix covers ``domain``."""
    rows = [r for r in s.scalars(select(DomainClaim)) if covers(r.prefix, domain)]
    return max(rows, key=lambda r: len(r.prefix)).publisher_id if rows else None


def check_owned(s: Session, publisher_id: str, what: str, domains: Iterable[str]) -> None:
    for domain in domains:
        owner = domain_owner(s, domain)
        if owner != publisher_id:
            held = f"belongs to publisher {owner!r}" if owner else "is claimed by no publisher"
            raise Refusal("domain", f"{what} declares domain {domain!r}, whose prefix {held}, "
                                    f"not {publisher_id!r}: claim the prefix first")


# -- what a wheel declares, read as data ----------------------------------------------------

def _is_domain_call(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "Domain") or (
        isinstance(func, ast.Attribute) and func.attr == "Domain")


def declared_in_source(source: str, file: str) -> tuple[list[str], list[str]]:
    """(domain names, problems) of every ``Domain(...)`` call in one Python file."""
    names, problems = [], []
    for node in ast.walk(ast.parse(source, filename=file)):
        if not isinstance(node, ast.Call) or not _is_domain_call(node):
            continue
        value = next((k.value for k in node.keywords if k.arg == "name"),
                     node.args[0] if node.args else None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            names.append(value.value)
        else:
            problems.append(f"{file}:{node.lineno} Domain(...) whose name is not a string "
                            "literal")
    return names, problems


def declared_domains(files: Iterable[str], read: Callable[[str], bytes]) -> list[str]:
    """Every domain name a wheel's source declares; refused when one cannot be read."""
    names, problems = set(), []
    for file in files:
        if not file.endswith((".py", ".pyw")):
            continue
        try:
            found, bad = declared_in_source(read(file).decode("utf-8"), file)
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            raise Refusal("contents", f"{file} cannot be read ({type(exc).__name__})") \
                from None
        names.update(found)
        problems += bad
    if problems:
        raise Refusal("domain", f"{problems[0]}: a release's domains must be readable "
                                "without running its code")
    return sorted(names)
