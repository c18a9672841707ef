"""Refusing ``NaN``, ``Infinity`` and floats too large to hold (``1e309``) in a message.

pydantic accepts them in float fields by default and writes them out as ``null``, so a
service would turn ``{"data": Infinity}`` into ``{"data": null}``, breaking its own
schema. stream refuses them, unless the model (``ConfigDict(allow_inf_nan=True)``) or
the field (``Field(allow_inf_nan=True)``) says they are wanted. (A validator built
from a changed schema cannot do it: pydantic-core reuses each model's own prebuilt
validator.) The check runs after validation, and only for types that can hold a float.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

__all__ = ("NonFiniteError", "non_finite_finder")

Finder = Callable[[Any], str | None]
"""Returns where a non-finite number is in a validated value, or ``None``."""

_FLOAT_SCHEMAS = frozenset({"float", "decimal"})
_CONFIGURED_SCHEMAS = frozenset({"model", "dataclass", "typed-dict"})
_checked_fields: dict[type[BaseModel], tuple[str, ...]] = {}


class NonFiniteError(ValueError):
    """A message holds a number that is not finite where the model does not allow one."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} is not a finite number (NaN, Infinity, or too large for a float); "
            "to accept such numbers set ConfigDict(allow_inf_nan=True) on the model or "
            "Field(allow_inf_nan=True) on the field"
        )


def non_finite_finder(core_schema: Any) -> Finder | None:
    """The check for a handler's message type, or ``None`` when no float in it needs one."""
    if not _may_hold_non_finite(core_schema, allowed=False):
        return None
    model = core_schema.get("cls") if core_schema.get("type") == "model" else None
    if model is None:
        return lambda value: _find(value, "message")
    # The usual message type, a model: its fields to check are known now, once.
    fields = _fields_to_check(model)

    def find_in_model(value: Any) -> str | None:
        if type(value) is model:
            return _find_in_fields(value, fields, "message")
        return _find(value, "message")  # a validator that returned another type

    return find_in_model


def _may_hold_non_finite(schema: Any, *, allowed: bool) -> bool:
    if isinstance(schema, list):
        return any(_may_hold_non_finite(item, allowed=allowed) for item in schema)
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "definition-ref":
        return True  # defined elsewhere: assume it may
    if kind in _CONFIGURED_SCHEMAS:
        # Each model decides for its own fields, as pydantic does.
        config = schema.get("config") or {}
        allowed = config.get("allow_inf_nan") is True
    if kind in _FLOAT_SCHEMAS:
        return not schema.get("allow_inf_nan", allowed)
    return any(_may_hold_non_finite(value, allowed=allowed) for value in schema.values())


def _find(value: Any, where: str) -> str | None:
    kind = type(value)
    if kind is float:
        return None if value - value == 0 else where  # inf - inf and nan - nan are nan
    if kind in _SCALARS or value is None:
        return None
    if isinstance(value, BaseModel):
        return _find_in_model(value, where)
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = _find(item, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find(item, f"{where}[{str(key)[:40]!r}]")
            if found is not None:
                return found
        return None
    if isinstance(value, Decimal):
        return None if value.is_finite() else where
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _find(vars(value), where)
    return None


def _find_in_model(model: BaseModel, where: str) -> str | None:
    return _find_in_fields(model, _fields_to_check(type(model)), where)


def _find_in_fields(model: BaseModel, fields: tuple[str, ...], where: str) -> str | None:
    values = model.__dict__
    for name in fields:
        value = values.get(name)
        if type(value) is float:  # the usual case, without a call
            if value - value != 0:
                return f"{where}.{name}"
        elif value is not None and type(value) not in _SCALARS:
            found = _find(value, f"{where}.{name}")
            if found is not None:
                return found
    return None


def _fields_to_check(model: type[BaseModel]) -> tuple[str, ...]:
    # The fields whose type can hold a non-finite number the model does not allow.
    fields = _checked_fields.get(model)
    if fields is None:
        allowed = model.model_config.get("allow_inf_nan") is True
        schemas = _field_schemas(model)
        fields = tuple(
            name
            for name, info in model.model_fields.items()
            if not any(getattr(m, "allow_inf_nan", None) is True for m in info.metadata)
            and _may_hold_non_finite(schemas.get(name, _UNKNOWN), allowed=allowed)
        )
        _checked_fields[model] = fields
    return fields


def _field_schemas(model: type[BaseModel]) -> dict[str, Any]:
    schema: Any = model.__pydantic_core_schema__
    while isinstance(schema, dict) and schema.get("type") in ("definitions", "model"):
        schema = schema["schema"]
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, dict):
        return {}
    return {name: field.get("schema", _UNKNOWN) for name, field in fields.items()}


_SCALARS = frozenset({int, str, bool, bytes})
_UNKNOWN = {"type": "definition-ref"}  # a field whose schema is not found: check it
