"""Example messages, put together from what the models declare.

An example is built only from values a user wrote (``Field(examples=...)``, defaults,
constants, enums, a model's own ``examples``): a required field with none of these
means no example, rather than a made-up value that says nothing (``"string"``) or
breaks a constraint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stream.asyncapi._schemas import resolve, schema_name

__all__ = ("examples_of",)

_NONE: Final = object()
"""No example could be built (``None`` is a real example: JSON null)."""

_MAX_DEPTH = 12


def examples_of(schema: Mapping[str, Any], components: Mapping[str, Any]) -> list[Any]:
    """Example payloads for ``schema``: the model's own examples, else one built from
    its fields' examples, else none."""
    target = resolve(schema, dict(components))
    declared = target.get("examples") if isinstance(target, Mapping) else None
    if isinstance(declared, list) and declared:
        return list(declared)
    found = _example(schema, components, frozenset(), 0)
    return [] if found is _NONE else [found]


def _example(schema: Any, components: Mapping[str, Any], seen: frozenset[str], depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return _NONE
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = schema_name(ref)
        if name is None or name in seen or name not in components:
            return _NONE  # a recursive model ends where it would repeat
        return _example(components[name], components, seen | {name}, depth + 1)
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            return _first_branch(schema[key], components, seen, depth)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return _example(all_of[0], components, seen, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, components, seen, depth)
    if kind == "array":
        return _array(schema, components, seen, depth)
    if kind == "null":
        return None
    return _NONE


def _first_branch(
    branches: list[Any], components: Mapping[str, Any], seen: frozenset[str], depth: int
) -> Any:
    # A real value reads better than null, so `Model | None` shows the model.
    nullable = False
    for branch in branches:
        if isinstance(branch, Mapping) and branch.get("type") == "null":
            nullable = True
            continue
        found = _example(branch, components, seen, depth + 1)
        if found is not _NONE:
            return found
    return None if nullable else _NONE


def _object(
    schema: Mapping[str, Any], components: Mapping[str, Any], seen: frozenset[str], depth: int
) -> Any:
    required = set(schema.get("required", ()))
    built: dict[str, Any] = {}
    for name, field_schema in schema.get("properties", {}).items():
        built_value = _example(field_schema, components, seen, depth + 1)
        if built_value is _NONE:
            if name in required:
                return _NONE
            continue
        built[name] = built_value
    return built


def _array(
    schema: Mapping[str, Any], components: Mapping[str, Any], seen: frozenset[str], depth: int
) -> Any:
    items = schema.get("items")
    minimum = schema.get("minItems", 0)
    if isinstance(items, list):  # a tuple: one example per position
        values = [_example(item, components, seen, depth + 1) for item in items]
        return _NONE if any(value is _NONE for value in values) else values
    item = _example(items, components, seen, depth + 1)
    if item is _NONE:
        return [] if minimum == 0 else _NONE
    if minimum > 1 and schema.get("uniqueItems") is True:
        return _NONE  # repeating the one example would break uniqueness
    return [item] * max(1, minimum)
