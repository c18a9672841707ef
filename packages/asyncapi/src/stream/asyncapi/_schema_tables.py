"""JSON schemas as HTML a person reads: a type in a few words, an object as a table."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import Any

__all__ = ("SchemaView", "anchor", "breakable", "compact_json", "inline_markdown")

_CONSTRAINTS = (
    ("minimum", "≥ {}", ""),
    ("exclusiveMinimum", "> {}", ""),
    ("maximum", "≤ {}", ""),
    ("exclusiveMaximum", "< {}", ""),
    ("multipleOf", "multiple of {}", ""),
    ("minLength", "at least {} character", "s"),
    ("maxLength", "at most {} character", "s"),
    ("pattern", "matches <code>{}</code>", ""),
    ("minItems", "at least {} item", "s"),
    ("maxItems", "at most {} item", "s"),
    ("minProperties", "at least {} entr", "ies|y"),
    ("maxProperties", "at most {} entr", "ies|y"),
)


def anchor(kind: str, name: str) -> str:
    """The id of an element of the page, e.g. ``schema-DataBasic``."""
    return escape(f"{kind}-{name}", quote=True)


def breakable(name: str) -> str:
    """``name`` HTML-escaped, with line-break opportunities after its dots (long
    module-qualified names would otherwise break mid-word or overflow)."""
    return escape(name).replace(".", ".<wbr>")


def inline_markdown(text: str) -> str:
    """One line of Markdown's ``code`` and **bold** as HTML, everything else escaped."""
    html = escape(text)
    html = re.sub(r"``?([^`]+)``?", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)


def compact_json(value: Any) -> str:
    """``value`` as one line of JSON, HTML-escaped."""
    return escape(json.dumps(value, ensure_ascii=False))


def _plural(text: str, ending: str, count: Any) -> str:
    many, _, one = ending.partition("|")
    return text + (one if count == 1 else many)


class SchemaView:
    """Renders the schemas of one document, linking ``$ref``s to its ``components``."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        components = document.get("components", {})
        schemas = components.get("schemas", {}) if isinstance(components, Mapping) else {}
        self.schemas: Mapping[str, Any] = schemas if isinstance(schemas, Mapping) else {}

    def resolve(self, schema: Any) -> Any:
        """The schema a ``#/components/schemas/...`` ref names, else ``schema`` itself."""
        name = self.ref_name(schema)
        return self.schemas[name] if name is not None and name in self.schemas else schema

    def ref_name(self, schema: Any) -> str | None:
        """The component a schema refers to, if it is a ref."""
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        prefix = "#/components/schemas/"
        return ref[len(prefix) :] if isinstance(ref, str) and ref.startswith(prefix) else None

    def type_html(self, schema: Any) -> str:
        """A short description of a type: ``string (date-time)``, ``array of Item``, …"""
        if schema is True or schema == {}:
            return "any"
        if not isinstance(schema, Mapping):
            return "nothing" if schema is False else escape(str(schema))
        name = self.ref_name(schema)
        if name is not None:
            return f'<a href="#{anchor("schema", name)}">{breakable(name)}</a>'
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list):
                return " | ".join(self.type_html(branch) for branch in schema[key])
        if isinstance(schema.get("allOf"), list):
            return " &amp; ".join(self.type_html(part) for part in schema["allOf"])
        if "const" in schema:
            return compact_json(schema["const"])
        if isinstance(schema.get("enum"), list):
            return " | ".join(compact_json(value) for value in schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.type_html({**schema, "type": one}) for one in kind)
        if kind == "array":
            items = schema.get("items", {})
            if isinstance(items, list):
                return "[" + ", ".join(self.type_html(item) for item in items) + "]"
            return f"array of {self.type_html(items)}"
        if kind == "object" and "properties" not in schema:
            values = schema.get("additionalProperties")
            if isinstance(values, Mapping):
                return f"map of {self.type_html(values)}"
        text = escape(str(kind)) if kind else "any"
        if isinstance(schema.get("format"), str):
            text += f" ({escape(schema['format'])})"
        return text

    def notes_html(self, schema: Any) -> str:
        """Constraints, default and flags of a schema, as a short list of phrases."""
        if not isinstance(schema, Mapping):
            return ""
        notes = [
            _plural(template.format(escape(str(schema[key]))), plural, schema[key])
            for key, template, plural in _CONSTRAINTS
            if key in schema
        ]
        if schema.get("uniqueItems") is True:
            notes.append("unique items")
        if "default" in schema:
            notes.append(f"default <code>{compact_json(schema['default'])}</code>")
        if schema.get("readOnly") is True:
            notes.append("read-only")
        if schema.get("deprecated") is True:
            notes.append("deprecated")
        if isinstance(schema.get("discriminator"), str):
            notes.append(f"told apart by <code>{escape(schema['discriminator'])}</code>")
        return "; ".join(notes)

    def block_html(self, schema: Any) -> str:
        """A schema in full: a table of fields for an object, else its type and notes."""
        resolved = self.resolve(schema)
        if isinstance(resolved, Mapping) and isinstance(resolved.get("properties"), Mapping):
            return self.table_html(resolved)
        notes = self.notes_html(resolved)
        extra = f' <span class="notes">{notes}</span>' if notes else ""
        return f'<p class="type">Type: {self.type_html(schema)}{extra}</p>'

    def table_html(self, schema: Mapping[str, Any]) -> str:
        """An object schema as a table: field, type, required, description, example."""
        rows = "".join(self._rows(schema, prefix=""))
        return (
            '<table class="fields"><colgroup><col class="c-field"><col class="c-type">'
            '<col class="c-required"><col class="c-description"><col class="c-example">'
            "</colgroup><thead><tr><th>Field</th><th>Type</th><th>Required</th>"
            f"<th>Description</th><th>Example</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    def _rows(self, schema: Mapping[str, Any], prefix: str) -> list[str]:
        required = set(schema.get("required", ()))
        rows = []
        for field_name, field_schema in schema.get("properties", {}).items():
            name = prefix + str(field_name)
            description = ""
            if isinstance(field_schema, Mapping):
                text = field_schema.get("description")
                description = inline_markdown(text) if isinstance(text, str) else ""
            notes = self.notes_html(field_schema)
            if notes:
                description += f'<div class="notes">{notes}</div>'
            examples = field_schema.get("examples") if isinstance(field_schema, Mapping) else None
            example = (
                f"<code>{compact_json(examples[0])}</code>"
                if isinstance(examples, list) and examples
                else ""
            )
            is_required = "yes" if field_name in required else ""
            rows.append(
                f"<tr><td><code>{escape(name)}</code></td><td>{self.type_html(field_schema)}</td>"
                f"<td>{is_required}</td><td>{description}</td><td>{example}</td></tr>"
            )
            # A nested object written inline (not a shared model) is shown in place.
            if isinstance(field_schema, Mapping) and isinstance(
                field_schema.get("properties"), Mapping
            ):
                rows.extend(self._rows(field_schema, prefix=f"{name}."))
        return rows
