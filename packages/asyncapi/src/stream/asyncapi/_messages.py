"""The messages of a channel: payload, content type, key, headers and examples."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.asyncapi._examples import examples_of
from stream.asyncapi._model import KeyModel, MessageModel
from stream.asyncapi._schemas import resolve, schema_name, type_label

__all__ = ("KAFKA_BINDING_VERSION", "ChannelMessage", "safe_id")

KAFKA_BINDING_VERSION = "0.5.0"
"""The Kafka bindings version that both 3.0.0 and 3.1.0 documents validate against."""


@dataclass(slots=True)
class ChannelMessage:
    """One kind of message on a channel, as every operation on it sees it.

    A consumer and a producer of the same body on the same channel share one
    message; the producer brings the key and headers it declares.

    Attributes:
        name: Its id within the channel: the payload's schema name, or its type's.
        payload: Its payload schema (usually a ``$ref`` to a shared schema).
        content_type: How its body is encoded.
        title: Its type, for people, when the payload names none.
        key: How a producer chooses its key.
        headers: Headers a producer adds.
        kafka: Whether to write Kafka bindings (the key).
    """

    name: str
    payload: dict[str, Any]
    content_type: str
    title: str | None = None
    key: KeyModel | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    kafka: bool = True

    @classmethod
    def of(cls, message: MessageModel, payload: dict[str, Any], *, kafka: bool) -> ChannelMessage:
        """The channel message of ``message``, whose payload schema is ``payload``."""
        ref = payload.get("$ref")
        name = schema_name(ref) if isinstance(ref, str) else None
        label = type_label(message.type)
        return cls(
            name=name or safe_id(label),
            payload=payload,
            content_type=message.content_type,
            title=None if name else label,
            key=message.key,
            headers=message.headers,
            kafka=kafka,
        )

    def absorb(self, other: ChannelMessage) -> bool:
        """Takes ``other``'s key and headers when it is the same message; says if it was."""
        if (other.payload, other.content_type) != (self.payload, self.content_type):
            return False
        if self.key is not None and other.key is not None and self.key != other.key:
            return False
        if self.headers and other.headers and self.headers != other.headers:
            return False
        self.key = self.key or other.key
        self.headers = self.headers or other.headers
        return True

    def render(self, components: dict[str, Any]) -> dict[str, Any]:
        """The Message Object."""
        resolved = resolve(self.payload, components)
        payload_schema: Mapping[str, Any] = resolved if isinstance(resolved, Mapping) else {}
        rendered: dict[str, Any] = {"name": self.name}
        title = payload_schema.get("title", self.title)
        if isinstance(title, str):
            rendered["title"] = title
        description = payload_schema.get("description")
        if isinstance(description, str) and description.strip():
            rendered["summary"] = description.strip().splitlines()[0]
        rendered["contentType"] = self.content_type
        if self.headers:
            rendered["headers"] = {
                "type": "object",
                "properties": {
                    name: {"type": "string", "const": value} for name, value in self.headers.items()
                },
                "required": list(self.headers),
            }
        rendered["payload"] = self.payload
        payloads = examples_of(self.payload, components)
        examples: list[dict[str, Any]] = [{"payload": payload} for payload in payloads]
        if self.headers:
            headers = dict(self.headers)
            examples = [{**e, "headers": headers} for e in examples] or [{"headers": headers}]
        if examples:
            rendered["examples"] = examples
        if self.key is not None and self.kafka:
            kafka = {
                "key": _key_schema(self.key, payloads),
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
            rendered["bindings"] = {"kafka": kafka}
        return rendered


def _key_schema(key: KeyModel, example_payloads: list[Any]) -> dict[str, Any]:
    # Keys travel as text: stream sends str(key) (see stream.core._codec.encode_key).
    if key.source == "function":
        return {"type": "string", "description": f"Computed from the message by `{key.name}`."}
    schema: dict[str, Any] = {
        "type": "string",
        "description": f"The message's `{key.name}` field, as text.",
    }
    values = [
        payload[key.name] if isinstance(payload[key.name], str) else str(payload[key.name])
        for payload in example_payloads
        if isinstance(payload, Mapping) and payload.get(key.name) is not None
    ]
    if values:
        schema["examples"] = list(dict.fromkeys(values))
    return schema


def safe_id(text: str) -> str:
    """``text`` as an id AsyncAPI accepts (``[\\w.-]+``): other characters become ``_``."""
    return re.sub(r"[^\w.\-]+", "_", text, flags=re.ASCII).strip("_") or "message"
