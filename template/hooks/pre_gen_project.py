"""Refuse bad answers before cookiecutter writes a single file.

cookiecutter renders this file with the answers and runs it; ``tracer plugin new`` also
imports ``problems`` from it (unrendered) to check flags before it renders anything, so the
rules live in one place. Each problem names the variable, the value and what would work.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

NAMESPACE = re.compile(r"^[a-z][a-z0-9-]*$")
TEMPLATE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
DISTRIBUTION = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SPECIFIER = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>)\s*[0-9][0-9a-z.*+!-]*\s*$")
#: names a plugin package must not take: they would shadow Tracer or the standard library
RESERVED = {"tracer", "tracer_registry", "tests", "test", *sys.stdlib_module_names}


def problems(answers: dict) -> list[str]:
    """Everything wrong with ``answers``, one sentence each (empty when all is well)."""
    found = []

    def check(key: str, ok: bool, hint: str) -> None:
        if not ok:
            found.append(f"{key} {str(answers.get(key, ''))!r} is not valid: {hint}")

    namespace = str(answers.get("namespace", ""))
    template = str(answers.get("template_name", ""))
    package = str(answers.get("package_name", ""))
    check("namespace", bool(NAMESPACE.match(namespace)),
          "use lower case letters, digits and '-', starting with a letter (e.g. acme)")
    check("template_name", bool(TEMPLATE.match(template)),
          "use lower case letters, digits, '-' and '.' (e.g. churn)")
    check("package_name",
          bool(PACKAGE.match(package)) and not keyword.iskeyword(package)
          and package not in RESERVED,
          "a Python package name is lower case letters, digits and '_', starts with a letter "
          "and is not taken by Python or Tracer (e.g. tracer_acme_churn)")
    check("project_slug", bool(DISTRIBUTION.match(str(answers.get("project_slug", "")))),
          "a distribution name is lower case letters, digits, '-', '_' and '.' "
          "(e.g. tracer-acme-churn)")
    check("title", bool(str(answers.get("title", "")).strip()), "say what the model predicts")
    check("author_email", bool(EMAIL.match(str(answers.get("author_email", "")))),
          "use an address like ada@example.com")
    check("github_repository", bool(REPOSITORY.match(str(answers.get("github_repository", "")))),
          "use owner/name, as in github.com/owner/name")
    check("registry_url", str(answers.get("registry_url", "")).startswith("https://"),
          "the registry is reached over https://")
    tracer_range = str(answers.get("tracer_range", ""))
    clauses = tracer_range.split(",")
    check("tracer_range",
          all(SPECIFIER.match(c) for c in clauses) and any("<" in c for c in clauses),
          "give a compatible range with an upper bound, e.g. >=0.1,<0.2")
    return found


if __name__ == "__main__":
    # rendered by cookiecutter: the answers arrive as a JSON string literal
    found = problems(json.loads({{ cookiecutter | jsonify | tojson }}))  # noqa: F821
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
