"""``render_html``: an AsyncAPI 3 document as one self-contained page.

The page is rendered here, on the server side, into plain HTML tables with inline CSS
and no script: it opens from a file, offline, in any browser, and prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from stream.asyncapi._page_style import STYLESHEET
from stream.asyncapi._schema_tables import (
    SchemaView,
    anchor,
    breakable,
    compact_json,
    inline_markdown,
)

__all__ = ("render_html",)


def render_html(document: Mapping[str, Any]) -> str:
    """The page of ``document``: services, servers, operations, channels with their
    messages (payload tables and examples), shared schemas, and the raw document.

    Args:
        document: An AsyncAPI 3 document, as :func:`asyncapi_document` returns it.
    """
    page = _Page(document)
    info = _mapping(document.get("info"))
    title = str(info.get("title", "AsyncAPI document"))
    version = str(info.get("version", ""))
    body = "".join(
        (
            page.overview(info),
            page.operations_table(),
            page.channels(),
            page.schemas(),
            page.raw(),
        )
    )
    counts = (
        f"AsyncAPI {escape(str(document.get('asyncapi', '')))} · "
        f"{len(page.channel_map)} channels · {len(page.operation_map)} operations"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} {escape(version)} · AsyncAPI</title>"
        f"<style>{STYLESHEET}</style></head><body>"
        f'<header class="top"><h1>{escape(title)} <span class="version">{escape(version)}'
        f'</span></h1><p class="sub">{counts}</p></header>'
        f'<div class="layout">{page.toc()}<main>{body}</main></div></body></html>\n'
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(markdown: str) -> str:
    """A little Markdown (paragraphs, ``code``, **bold**) as HTML."""
    return "".join(
        f"<p>{inline_markdown(' '.join(line.strip() for line in block.splitlines()))}</p>"
        for block in re.split(r"\n\s*\n", markdown.strip())
    )


def _ref_parts(value: Any) -> list[str]:
    ref = value.get("$ref") if isinstance(value, Mapping) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


class _Page:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.view = SchemaView(document)
        self.channel_map = _mapping(document.get("channels"))
        self.operation_map = _mapping(document.get("operations"))

    def deref(self, value: Any) -> Any:
        """Follows internal ``$ref``s (``#/...``) to what they point at."""
        for _ in range(8):  # refs to refs are allowed, cycles are not followed forever
            parts = _ref_parts(value)
            if not parts:
                return value
            target: Any = self.document
            for part in parts:
                target = target.get(part) if isinstance(target, Mapping) else None
            value = target
        return value

    def toc(self) -> str:
        channels = "".join(
            f'<li><a href="#{anchor("channel", cid)}">{breakable(self.channel_label(cid))}</a></li>'
            for cid in self.channel_map
        )
        schemas = "".join(
            f'<li><a href="#{anchor("schema", name)}">{breakable(name)}</a></li>'
            for name in self.view.schemas
        )
        parts = ['<nav class="toc"><h2><a href="#overview">Overview</a></h2>']
        parts.append('<h2><a href="#operations">Operations</a></h2>')
        parts.append(f'<h2><a href="#channels">Channels</a></h2><ul>{channels}</ul>')
        if schemas:
            parts.append(f'<h2><a href="#schemas">Schemas</a></h2><ul>{schemas}</ul>')
        parts.append('<h2><a href="#document">Document</a></h2></nav>')
        return "".join(parts)

    def channel_label(self, channel_id: str) -> str:
        channel = _mapping(self.channel_map.get(channel_id))
        address = channel.get("address")
        if isinstance(address, str):
            return address
        pattern = channel.get("x-stream-topic-pattern")
        return f"pattern {pattern}" if isinstance(pattern, str) else channel_id

    def overview(self, info: Mapping[str, Any]) -> str:
        parts = ['<section id="overview"><h2>Overview</h2>']
        description = info.get("description")
        if isinstance(description, str):
            parts.append(_text(description))
        tags = [tag for tag in info.get("tags", []) if isinstance(tag, Mapping)]
        if tags:
            rows = "".join(
                f"<tr><td>{escape(str(tag.get('name', '')))}</td>"
                f"<td>{_text(str(tag.get('description', '')))}</td></tr>"
                for tag in tags
            )
            parts.append(
                '<table class="servers"><thead><tr><th>Service</th><th>Description</th>'
                f"</tr></thead><tbody>{rows}</tbody></table>"
            )
        parts.append(self.servers())
        parts.append("</section>")
        return "".join(parts)

    def servers(self) -> str:
        servers = _mapping(self.document.get("servers"))
        if not servers:
            return '<p class="muted">No servers are declared.</p>'
        rows = []
        for server_id, server in servers.items():
            server = _mapping(server)
            security = ", ".join(
                escape(str(_mapping(self.deref(scheme)).get("type", "")))
                for scheme in server.get("security", [])
            )
            protocol = escape(str(server.get("protocol", "")))
            if server.get("protocolVersion"):
                protocol += f" {escape(str(server['protocolVersion']))}"
            rows.append(
                f"<tr><td>{escape(str(server_id))}</td>"
                f"<td><code>{escape(str(server.get('host', '')))}</code></td>"
                f"<td>{protocol}</td><td>{security or 'none'}</td>"
                f"<td>{escape(str(server.get('description', '')))}</td></tr>"
            )
        return (
            '<table class="servers"><thead><tr><th>Server</th><th>Host</th><th>Protocol</th>'
            f"<th>Security</th><th>Description</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def operations_table(self) -> str:
        rows = []
        for operation in self.operation_map.values():
            operation = _mapping(operation)
            channel_id = self.channel_id_of(operation)
            action = escape(str(operation.get("action", "")))
            messages = ", ".join(
                f'<a href="#{anchor("message", "-".join(_ref_parts(m)[1::2]))}">'
                f"{breakable(_ref_parts(m)[-1])}</a>"
                for m in operation.get("messages", [])
                if _ref_parts(m)
            )
            summary = operation.get("summary")
            summary_html = (
                f'<div class="notes">{inline_markdown(summary)}</div>'
                if isinstance(summary, str)
                else ""
            )
            rows.append(
                f"<tr><td><code>{escape(str(operation.get('title', '')))}</code>{summary_html}</td>"
                f'<td><span class="badge {action}">{action}</span></td>'
                f'<td><a href="#{anchor("channel", channel_id)}">'
                f"{breakable(self.channel_label(channel_id))}</a></td><td>{messages}</td>"
                f"<td>{self.group_of(operation)}</td><td>{self.delivery_of(operation)}</td></tr>"
            )
        return (
            '<section id="operations"><h2>Operations</h2><div class="scroll">'
            '<table class="overview"><thead><tr><th>Handler</th><th>Action</th><th>Channel</th>'
            "<th>Message</th><th>Consumer group</th><th>Delivery</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div></section>"
        )

    def channel_id_of(self, operation: Mapping[str, Any]) -> str:
        parts = _ref_parts(operation.get("channel"))
        return parts[1] if len(parts) == 2 and parts[0] == "channels" else ""

    def group_of(self, operation: Mapping[str, Any]) -> str:
        kafka = _mapping(_mapping(self.deref(operation.get("bindings"))).get("kafka"))
        group = _mapping(kafka.get("groupId"))
        values = group.get("enum") or ([group["const"]] if "const" in group else [])
        return ", ".join(f"<code>{escape(str(value))}</code>" for value in values)

    def delivery_of(self, operation: Mapping[str, Any]) -> str:
        delivery = _mapping(operation.get("x-stream-delivery"))
        if not delivery:
            return ""
        phrases = [escape(str(delivery.get("guarantee", "")).replace("_", "-"))]
        if delivery.get("batch"):
            phrases.append(f"batches of up to {escape(str(delivery.get('maxRecords')))}")
        if "attempts" in delivery:
            phrases.append(f"{escape(str(delivery['attempts']))} attempts")
        dead_letter = delivery.get("deadLetterTopic")
        phrases.append(
            f"dead letters to <code>{escape(str(dead_letter))}</code>"
            if dead_letter
            else "a failure stops the subscription"
        )
        return ", ".join(phrases)

    def channels(self) -> str:
        cards = [self.channel_card(str(cid), _mapping(ch)) for cid, ch in self.channel_map.items()]
        empty = '<p class="muted">No channels.</p>'
        return f'<section id="channels"><h2>Channels</h2>{"".join(cards) or empty}</section>'

    def channel_card(self, channel_id: str, channel: Mapping[str, Any]) -> str:
        parts = [f'<article class="card channel" id="{anchor("channel", channel_id)}">']
        pattern = channel.get("x-stream-topic-pattern")
        if isinstance(channel.get("address"), str):
            parts.append(f"<h3>{escape(channel['address'])}</h3>")
        elif isinstance(pattern, str):
            badge = '<span class="badge pattern">pattern</span>'
            parts.append(f"<h3>{badge} <code>{escape(pattern)}</code></h3>")
        else:
            parts.append(f"<h3>{escape(channel_id)}</h3>")
        if isinstance(channel.get("description"), str):
            parts.append(_text(channel["description"]))
        parts.append(self.channel_operations(channel_id))
        for message_id, message in _mapping(channel.get("messages")).items():
            parts.append(self.message_block(channel_id, str(message_id), self.deref(message)))
        parts.append("</article>")
        return "".join(parts)

    def channel_operations(self, channel_id: str) -> str:
        items = []
        for operation in self.operation_map.values():
            operation = _mapping(operation)
            if self.channel_id_of(operation) != channel_id:
                continue
            action = escape(str(operation.get("action", "")))
            verb = "receives" if action == "receive" else "sends"
            group = self.group_of(operation)
            in_group = f" in group {group}" if group else ""
            items.append(
                f'<li><span class="badge {action}">{action}</span> '
                f"<code>{escape(str(operation.get('title', '')))}</code> {verb}{in_group}</li>"
            )
        return f'<ul class="ops">{"".join(items)}</ul>' if items else ""

    def message_block(self, channel_id: str, message_id: str, message: Any) -> str:
        message = _mapping(message)
        name = str(message.get("name") or message_id)
        content_type = escape(
            str(message.get("contentType") or self.document.get("defaultContentType", ""))
        )
        parts = [
            f'<div class="message" id="{anchor("message", f"{channel_id}-{message_id}")}">',
            f'<h4>Message {breakable(name)}<span class="ctype">{content_type}</span></h4>',
        ]
        if isinstance(message.get("summary"), str):
            parts.append(f"<p>{escape(message['summary'])}</p>")
        facts = []
        kafka = _mapping(_mapping(self.deref(message.get("bindings"))).get("kafka"))
        if "key" in kafka:
            key = _mapping(self.deref(kafka["key"]))
            described = key.get("description")
            note = f" — {inline_markdown(described)}" if isinstance(described, str) else ""
            key_examples = key.get("examples")
            if isinstance(key_examples, list) and key_examples:
                shown = ", ".join(f"<code>{compact_json(v)}</code>" for v in key_examples)
                note += f' <span class="notes">e.g. {shown}</span>'
            facts.append(f"<dt>Key</dt><dd>{self.view.type_html(key)}{note}</dd>")
        headers = _mapping(self.deref(message.get("headers")))
        for header, schema in _mapping(headers.get("properties")).items():
            facts.append(
                f"<dt>Header <code>{escape(str(header))}</code></dt>"
                f"<dd>{self.view.type_html(schema)}</dd>"
            )
        if facts:
            parts.append(f'<dl class="facts">{"".join(facts)}</dl>')
        payload = message.get("payload")
        if payload is not None:
            parts.append("<h4>Payload</h4>" + self.view.block_html(payload))
        examples = [e for e in message.get("examples", []) if isinstance(e, Mapping)]
        if examples:
            parts.append("<h4>Example</h4>" if len(examples) == 1 else "<h4>Examples</h4>")
            parts.extend(self.example_block(example) for example in examples)
        parts.append("</div>")
        return "".join(parts)

    def example_block(self, example: Mapping[str, Any]) -> str:
        parts = []
        if isinstance(example.get("name"), str):
            parts.append(f'<p class="notes">{escape(example["name"])}</p>')
        headers = _mapping(example.get("headers"))
        if headers:
            shown = ", ".join(
                f"<code>{escape(str(name))}: {escape(str(value))}</code>"
                for name, value in headers.items()
            )
            parts.append(f'<p class="notes">Headers: {shown}</p>')
        if "payload" in example:
            text = json.dumps(example["payload"], indent=2, ensure_ascii=False)
            parts.append(f"<pre><code>{escape(text)}</code></pre>")
        return "".join(parts)

    def schemas(self) -> str:
        if not self.view.schemas:
            return ""
        cards = []
        for name, schema in self.view.schemas.items():
            schema = _mapping(schema)
            description = schema.get("description")
            text = _text(description) if isinstance(description, str) else ""
            examples = schema.get("examples")
            shown = (
                f"<h4>Example</h4><pre><code>{compact_json(examples[0])}</code></pre>"
                if isinstance(examples, list) and examples
                else ""
            )
            cards.append(
                f'<article class="card" id="{anchor("schema", name)}"><h3>{breakable(name)}</h3>'
                f"{text}{self.view.block_html(schema)}{shown}</article>"
            )
        return f'<section id="schemas"><h2>Schemas</h2>{"".join(cards)}</section>'

    def raw(self) -> str:
        text = escape(json.dumps(self.document, indent=2, ensure_ascii=False))
        return (
            '<section id="document"><h2>Document</h2><details><summary>The AsyncAPI document '
            f"(JSON)</summary><pre><code>{text}</code></pre></details></section>"
        )
