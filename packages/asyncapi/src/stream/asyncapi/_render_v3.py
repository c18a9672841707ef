"""The model as an AsyncAPI 3.x document (3.1.0 and 3.0.0 have the same shape here).

Layout: a channel per topic (and one per topic pattern, its address unknown), the
messages of each channel inline in it, payload schemas shared in
``components/schemas``, a ``receive`` operation per consumed channel and a ``send``
operation per ``@produce``, Kafka bindings on operations (group and client id) and on
messages (the key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stream.asyncapi._messages import KAFKA_BINDING_VERSION, ChannelMessage, safe_id
from stream.asyncapi._model import (
    Api,
    ChannelModel,
    FilterModel,
    OperationModel,
    ServerModel,
    ServiceModel,
)
from stream.asyncapi._schemas import SchemaSet
from stream.asyncapi._servers import ServerIds, server_ids

__all__ = ("VERSIONS", "render")

VERSIONS = ("3.1.0", "3.0.0")
"""The AsyncAPI versions this renderer writes, newest first."""


def render(api: Api, version: str = VERSIONS[0]) -> dict[str, Any]:
    """The AsyncAPI ``version`` document of ``api``.

    Raises:
        ValueError: ``version`` is not one of :data:`VERSIONS`.
    """
    if version not in VERSIONS:
        raise ValueError(f"AsyncAPI {version} is not supported; use one of {', '.join(VERSIONS)}")
    servers = server_ids(api.services)
    schemas = SchemaSet()
    indexed = [
        (service, operation, schemas.add(operation.message.type, operation.message.mode))
        for service in api.services
        for operation in service.operations
    ]
    payloads, components = schemas.build()
    channels = _Channels(servers)
    operations: dict[str, Any] = {}
    for service, operation, index in indexed:
        channel_id, message_id = channels.add(service, operation, payloads[index])
        base = safe_id(f"{service.name}.{operation.handler}.{operation.action}.{channel_id}")
        operation_id = _unique(base, operations)
        operations[operation_id] = _operation(service, operation, channel_id, message_id)
    document: dict[str, Any] = {"asyncapi": version, "info": _info(api)}
    document["defaultContentType"] = _default_content_type(api)
    if servers.servers:
        document["servers"] = {
            server_id: _server(server, servers) for server_id, server in servers.servers.items()
        }
    document["channels"] = channels.render(components)
    document["operations"] = operations
    document_components: dict[str, Any] = {}
    if components:
        document_components["schemas"] = components
    if servers.schemes:
        document_components["securitySchemes"] = dict(servers.schemes)
    if document_components:
        document["components"] = document_components
    return document


def _info(api: Api) -> dict[str, Any]:
    info: dict[str, Any] = {"title": api.title, "version": api.version}
    if api.description:
        info["description"] = api.description
    if len(api.services) > 1:
        info["tags"] = [_tag(service) for service in api.services]
    return info


def _tag(service: ServiceModel) -> dict[str, Any]:
    tag: dict[str, Any] = {"name": service.name}
    if service.description:
        tag["description"] = service.description
    return tag


def _server(server: ServerModel, ids: ServerIds) -> dict[str, Any]:
    rendered: dict[str, Any] = {"host": server.host, "protocol": server.protocol}
    if server.protocol_version:
        rendered["protocolVersion"] = server.protocol_version
    if server.description:
        rendered["description"] = server.description
    if server.security:
        rendered["security"] = [
            {"$ref": f"#/components/securitySchemes/{ids.scheme_id(scheme)}"}
            for scheme in server.security
        ]
    return rendered


def _kafka(protocol: str | None) -> bool:
    # stream is a Kafka framework: a service without a transport is described as Kafka.
    return protocol is None or protocol.startswith("kafka")


class _Channels:
    """Channels as operations meet them, each with the messages seen on it."""

    def __init__(self, servers: ServerIds) -> None:
        self._servers = servers
        self._channels: dict[str, ChannelModel] = {}
        self._messages: dict[str, dict[str, ChannelMessage]] = {}
        self._on: dict[str, list[str]] = {}

    def add(
        self, service: ServiceModel, operation: OperationModel, payload: dict[str, Any]
    ) -> tuple[str, str]:
        """Records ``operation``'s channel and message; returns their ids."""
        channel_id = self._channel_id(operation.channel)
        messages = self._messages.setdefault(channel_id, {})
        for server_id in self._servers.of_service(service):
            if server_id not in self._on.setdefault(channel_id, []):
                self._on[channel_id].append(server_id)
        message = ChannelMessage.of(operation.message, payload, kafka=_kafka(service.protocol))
        for message_id in _candidates(message.name):
            existing = messages.get(message_id)
            if existing is None:
                messages[message_id] = message
                return channel_id, message_id
            if existing.absorb(message):
                return channel_id, message_id
        raise AssertionError("unreachable: _candidates never ends")

    def render(self, components: dict[str, Any]) -> dict[str, Any]:
        """The ``channels`` object."""
        every_server = set(self._servers.servers)
        rendered: dict[str, Any] = {}
        for channel_id, channel in self._channels.items():
            body: dict[str, Any] = _channel(channel)
            servers = self._on.get(channel_id, [])
            if servers and set(servers) != every_server:
                body["servers"] = [{"$ref": f"#/servers/{server_id}"} for server_id in servers]
            body["messages"] = {
                message_id: message.render(components)
                for message_id, message in self._messages[channel_id].items()
            }
            rendered[channel_id] = body
        return rendered

    def _channel_id(self, channel: ChannelModel) -> str:
        for channel_id, known in self._channels.items():
            if known == channel:
                return channel_id
        channel_id = _unique(_channel_base_id(channel), self._channels)
        self._channels[channel_id] = channel
        return channel_id


def _channel(channel: ChannelModel) -> dict[str, Any]:
    if channel.topic is not None:
        return {"address": channel.topic}
    # A regular expression is no channel address (AsyncAPI reads `{...}` as a parameter
    # and forbids `?` and `#`): the address is unknown until topics match at run time.
    return {
        "address": None,
        "title": f"Topics matching {channel.pattern}",
        "description": (
            f"Every topic whose name matches the regular expression `{channel.pattern}`. "
            "This is a pattern subscription: the topics are found at run time."
        ),
        "x-stream-topic-pattern": channel.pattern,
    }


def _operation(
    service: ServiceModel, operation: OperationModel, channel_id: str, message_id: str
) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "action": operation.action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "title": f"{service.name}.{operation.handler}",
    }
    if operation.summary:
        rendered["summary"] = operation.summary
    if operation.description:
        rendered["description"] = operation.description
    rendered["messages"] = [{"$ref": f"#/channels/{channel_id}/messages/{message_id}"}]
    rendered["tags"] = [{"name": service.name}]
    bindings = _operation_bindings(service, operation)
    if bindings:
        rendered["bindings"] = bindings
    rendered["x-stream-handler"] = f"{service.name}.{operation.handler}"
    if operation.action == "receive":
        rendered["x-stream-delivery"] = _delivery(operation)
        if not operation.batch:
            rendered["reply"] = _REPLY
    if operation.filter is not None:
        rendered["x-stream-filter"] = _filter(service, operation.filter)
    return rendered


def _filter(service: ServiceModel, model: FilterModel) -> dict[str, Any]:
    # Handlers sharing a subscription split its channel: readers of the document need
    # the order they are tried in, and that a message none takes is skipped.
    return {
        "predicate": model.predicate,
        "triedInOrder": [f"{service.name}.{name}" for name in model.handlers],
        "unmatched": "skipped and committed"
        if model.fallback is None
        else f"taken by {service.name}.{model.fallback}",
    }


# A handler answers a request (service.request) at the topic its reply_to header names,
# with the request's correlation_id; a batch handler does not reply.
_REPLY: dict[str, Any] = {
    "address": {
        "location": "$message.header#/reply_to",
        "description": (
            "A request (a message with `reply_to` and `correlation_id` headers) is answered "
            "at the stream reply topic its `reply_to` header names, with the same "
            "`correlation_id`: the handler's result, or no body and `stream.error.type` / "
            "`stream.error.message` headers when the handler failed."
        ),
    }
}


def _operation_bindings(service: ServiceModel, operation: OperationModel) -> dict[str, Any]:
    bindings = {name: dict(value) for name, value in service.operation_bindings.items()}
    if not _kafka(service.protocol):
        return bindings
    kafka: dict[str, Any] = {}
    if operation.group_id is not None:
        kafka["groupId"] = {"type": "string", "enum": [operation.group_id]}
    if operation.client_id is not None:
        kafka["clientId"] = {"type": "string", "enum": [operation.client_id]}
    if kafka:
        # The transport's own Kafka bindings apply to every operation; ours are per handler.
        bindings["kafka"] = {**bindings.get("kafka", {}), **kafka}
        bindings["kafka"]["bindingVersion"] = KAFKA_BINDING_VERSION
    return bindings


def _delivery(operation: OperationModel) -> dict[str, Any]:
    delivery: dict[str, Any] = {"guarantee": operation.guarantee}
    if operation.retry_attempts is not None:
        delivery["attempts"] = operation.retry_attempts
    delivery["deadLetterTopic"] = operation.dead_letter
    if operation.batch:
        delivery["batch"] = True
        delivery["maxRecords"] = operation.max_records
    if operation.manual_partitions is not None:
        delivery["partitions"] = list(operation.manual_partitions)
    return delivery


def _candidates(name: str) -> Iterator[str]:
    yield name
    number = 2
    while True:
        yield f"{name}.{number}"
        number += 1


def _unique(base: str, taken: Mapping[str, Any]) -> str:
    return next(candidate for candidate in _candidates(base) if candidate not in taken)


def _channel_base_id(channel: ChannelModel) -> str:
    if channel.topic is not None:
        return safe_id(channel.topic)
    assert channel.pattern is not None
    # The words of the pattern name it; two patterns with the same words are numbered.
    words = re.findall(r"[A-Za-z0-9]+", channel.pattern)
    return "pattern." + ("-".join(words) or "any")


def _default_content_type(api: Api) -> str:
    # The services' codec when they share one; each message names its own content type
    # anyway (a raw body's, or a handler's own codec's).
    content_types = {service.content_type for service in api.services}
    return content_types.pop() if len(content_types) == 1 else "application/json"
