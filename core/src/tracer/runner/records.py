"""A third-party domain's record model, rebuilt on the host from its JSON schema.

The host never imports a third-party record class (its validators are plugin code). The
runner sends ``model_json_schema()``; this builds an equivalent pydantic model from the
parts a record schema may use — ``integer``/``number``/``boolean``/``string`` fields,
``enum`` choices, bounds, string lengths and patterns, optional fields and defaults,
descriptions — and refuses anything else with a message naming the field.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from tracer.errors import PluginError

_TYPES = {"integer": int, "number": float, "boolean": bool, "string": str}
_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt",
           "exclusiveMaximum": "lt", "minLength": "min_length", "maxLength": "max_length",
           "pattern": "pattern"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if not isinstance(target, dict):
            raise ValueError(f"unresolved reference {ref}")
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _annotation(node: dict[str, Any], defs: dict[str, Any]) -> tuple[Any, bool]:
    """(python type, nullable) of one field's schema."""
    node = _resolve(node, defs)
    if "anyOf" in node:
        options = [_resolve(o, defs) for o in node["anyOf"]]
        concrete = [o for o in options if o.get("type") != "null"]
        if len(concrete) != 1 or len(options) > 2:
            raise ValueError("only 'X or null' unions are supported")
        inner, _ = _annotation(concrete[0], defs)
        return inner, len(options) == 2
    if "enum" in node:
        values = node["enum"]
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise ValueError("enum choices must be strings or numbers")
        return Literal[tuple(values)], False
    if "const" in node:
        return Literal[node["const"]], False
    kind = node.get("type")
    if kind not in _TYPES:
        raise ValueError(f"type {kind!r} is not supported")
    return _TYPES[kind], False


def record_model(schema: dict[str, Any], name: str, domain: str) -> type[BaseModel]:
    defs = schema.get("$defs") or {}
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise PluginError(f"domain {domain}: the record schema has no properties")
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for field_name, node in properties.items():
        if not isinstance(field_name, str) or not _NAME.match(field_name):
            raise PluginError(f"domain {domain}: record field name {field_name!r} is not "
                              "an identifier")
        try:
            annotation, nullable = _annotation(node, defs)
            node = _resolve(node, defs)
            options = [_resolve(o, defs) for o in node.get("anyOf", [])]
            concrete = next((o for o in options if o.get("type") != "null"), node)
            kwargs = {arg: concrete[key] for key, arg in _BOUNDS.items() if key in concrete}
        except (ValueError, TypeError, KeyError) as exc:
            raise PluginError(f"domain {domain}: record field {field_name!r}: {exc}") from None
        if nullable:
            annotation = annotation | None
        if "description" in node:
            kwargs["description"] = str(node["description"])[:1000]
        if "title" in node:
            kwargs["title"] = str(node["title"])[:200]
        default = ... if field_name in required else node.get("default")
        fields[field_name] = (annotation, Field(default, **kwargs))
    extra: Literal["forbid", "ignore"] = \
        "forbid" if schema.get("additionalProperties") is False else "ignore"
    safe = name if _NAME.match(name or "") else "Record"
    return create_model(safe, __config__=ConfigDict(extra=extra), **fields)
