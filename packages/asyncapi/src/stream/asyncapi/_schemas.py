"""JSON schemas of message bodies, sharing one set of named components.

pydantic generates the schemas; this module decides the component names and turns
pydantic's JSON Schema (2020-12) into the AsyncAPI Schema Object (a superset of
draft 07). A model keeps its plain class name unless another model of the same name
appears in the same document; then both are named by module (``shop.orders.Item``
and ``shop.stock.Item``), whatever order they were met in.
"""

from __future__ import annotations

import re
import types
from collections import defaultdict
from typing import Any, Union, get_args, get_origin

from pydantic import PydanticSchemaGenerationError, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema
from pydantic.json_schema import (
    CoreModeRef,
    CoreRef,
    DefsRef,
    GenerateJsonSchema,
    JsonSchemaValue,
)

from stream.asyncapi._model import SchemaMode

__all__ = (
    "SCHEMA_REF_PREFIX",
    "SchemaSet",
    "asyncapi_schema",
    "resolve",
    "schema_name",
    "type_label",
)

SCHEMA_REF_PREFIX = "#/components/schemas/"
"""Where every shared schema lives in a document."""

JsonSchema = dict[str, Any]


class SchemaSet:
    """Schemas of many types at once, so nested models are shared and named once.

    Example:
        >>> schemas = SchemaSet()
        >>> order = schemas.add(Order, "validation")
        >>> payloads, components = schemas.build()
        >>> payloads[order]
        {'$ref': '#/components/schemas/Order'}
    """

    def __init__(self) -> None:
        self._entries: list[tuple[Any, SchemaMode]] = []

    def add(self, body_type: Any, mode: SchemaMode) -> int:
        """Adds a type; returns its index in what :meth:`build` returns."""
        self._entries.append((body_type, mode))
        return len(self._entries) - 1

    def build(self) -> tuple[list[JsonSchema], dict[str, JsonSchema]]:
        """The schema of each added type, and the components they refer to.

        A type pydantic cannot describe in JSON Schema gets the empty schema with a
        note, rather than failing the whole document.
        """
        inputs = []
        fallback: dict[int, JsonSchema] = {}
        for index, (body_type, mode) in enumerate(self._entries):
            adapter = _describable(body_type, mode)
            if adapter is None:
                fallback[index] = {"description": f"{type_label(body_type)} (no JSON schema)"}
            else:
                inputs.append((index, mode, adapter.core_schema))
        # First pass: learn which short names stand for more than one class.
        probe = _Generator(frozenset())
        probe.generate_definitions(inputs)
        ambiguous = frozenset(
            short for short, classes in probe.classes_by_short_name.items() if len(classes) > 1
        )
        mapping, definitions = _Generator(ambiguous).generate_definitions(inputs)
        payloads = [
            fallback[index] if index in fallback else asyncapi_schema(mapping[(index, mode)])
            for index, (_body_type, mode) in enumerate(self._entries)
        ]
        components = {
            str(name): asyncapi_schema(schema) for name, schema in sorted(definitions.items())
        }
        return payloads, components


def _describable(body_type: Any, mode: SchemaMode) -> TypeAdapter[Any] | None:
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(body_type)
        adapter.json_schema(mode=mode)
    except (PydanticSchemaGenerationError, PydanticInvalidForJsonSchema):
        return None
    return adapter


class _Generator(GenerateJsonSchema):
    """pydantic's generator with AsyncAPI's refs and module-qualified names on collision."""

    def __init__(self, ambiguous: frozenset[str]) -> None:
        super().__init__(ref_template=SCHEMA_REF_PREFIX + "{model}")
        self._ambiguous = ambiguous
        self.classes_by_short_name: dict[str, set[str]] = defaultdict(set)

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        core_ref, mode = core_mode_ref
        # pydantic's core refs read "module.Qualname:id" (generics: "Origin[Arg:id]:id").
        short = re.sub(r"(?:[^.[\],]+\.)+([^.[\],]+)", r"\1", re.sub(r":\d+", "", core_ref))
        self.classes_by_short_name[short].add(core_ref)
        if short in self._ambiguous:
            # Hiding the module's dots makes pydantic take the whole dotted path as the
            # short name; normalize_name turns them back into dots.
            core_ref = CoreRef(core_ref.replace(".", "~"))
        return super().get_defs_ref((core_ref, mode))

    def normalize_name(self, name: str) -> str:
        # Dots are allowed in AsyncAPI component names and read better than pydantic's "__".
        return re.sub(r"[^a-zA-Z0-9.\-_~]", "_", name).replace("~", ".")


# Where a JSON Schema holds other schemas: maps of them, lists of them, or one.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalItems", "additionalProperties", "not", "contains", "propertyNames"}
    | {"if", "then", "else"}
)


def asyncapi_schema(schema: JsonSchemaValue) -> JsonSchema:
    """pydantic's JSON Schema as an AsyncAPI Schema Object (JSON Schema draft 07 plus).

    ``discriminator`` becomes the property name (AsyncAPI's form, not OpenAPI's
    object) and tuples' ``prefixItems`` become draft 07's list of ``items``. Examples,
    defaults and constants are user data and are left as they are.
    """
    converted: JsonSchema = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            converted[key] = {name: _sub(item) for name, item in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            converted[key] = [_sub(item) for item in value]
        elif key in _SCHEMA_VALUES:
            converted[key] = (
                [_sub(item) for item in value] if isinstance(value, list) else _sub(value)
            )
        else:
            converted[key] = value
    discriminator = converted.get("discriminator")
    if isinstance(discriminator, dict) and "propertyName" in discriminator:
        converted["discriminator"] = discriminator["propertyName"]
    if "prefixItems" in converted:
        rest = converted.pop("items", None)
        converted["items"] = converted.pop("prefixItems")
        if rest is not None:
            converted["additionalItems"] = rest
    return converted


def _sub(value: Any) -> Any:
    return asyncapi_schema(value) if isinstance(value, dict) else value


def schema_name(ref: str) -> str | None:
    """The component name a ``$ref`` points to, or ``None`` for another kind of ref."""
    return ref[len(SCHEMA_REF_PREFIX) :] if ref.startswith(SCHEMA_REF_PREFIX) else None


def resolve(schema: Any, components: dict[str, JsonSchema]) -> Any:
    """``schema`` itself, or the component it refers to (one level)."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        name = schema_name(schema["$ref"])
        if name is not None and name in components:
            return components[name]
    return schema


def type_label(body_type: Any) -> str:
    """A type as a person reads it: ``Order``, ``list[Item]``, ``Order or None``."""
    origin = get_origin(body_type)
    if origin in (Union, types.UnionType):
        return " or ".join(type_label(arg) for arg in get_args(body_type))
    if origin is not None:
        arguments = ", ".join(type_label(arg) for arg in get_args(body_type))
        return f"{type_label(origin)}[{arguments}]"
    if body_type is type(None):
        return "None"
    name = getattr(body_type, "__name__", None)
    return name if isinstance(name, str) else str(body_type).replace("typing.", "")
