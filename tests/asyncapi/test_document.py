"""What the documents say about a service: each feature as a reader of the document sees it."""

import json
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field

from demo.app import Service as Demo
from stream import core
from stream.asyncapi import asyncapi_document, describe, to_json, to_yaml
from stream.asyncapi._distribution import version_of_module
from stream.core import BindError, consume, produce
from stream.core.transport import ServerDescription, TransportDescription
from stream.testing import MemoryBroker
from tests.asyncapi import models_a, models_b
from tests.asyncapi.services import Auditor, DescribedTransport, Everything


@pytest.fixture(scope="module")
def everything() -> dict[str, Any]:
    return asyncapi_document(Everything)


def message(document: dict[str, Any], channel: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["channels"][channel]["messages"][name]
    return found


def test_info_comes_from_the_service(everything: dict[str, Any]) -> None:
    assert everything["info"]["title"] == "Everything"
    assert everything["info"]["version"] == "2.3.4"  # the class's `version`
    assert everything["info"]["description"].startswith(
        "Takes orders, tracks stock and shouts about it.\n\nExercises every part"
    )
    assert everything["defaultContentType"] == "application/json"


def test_version_defaults_to_the_distribution_then_0_1_0() -> None:
    assert asyncapi_document(Demo)["info"]["version"] == "0.1.0"  # stream-demo's version
    assert asyncapi_document(Auditor)["info"]["version"] == "0.1.0"  # no distribution
    assert asyncapi_document(Demo, api_version="9.9.9")["info"]["version"] == "9.9.9"


def test_a_service_without_docstring_does_not_inherit_the_base_docstring() -> None:
    class Bare(core.Service):
        @consume("in")
        async def on_in(self, value: int) -> None: ...

    assert "description" not in asyncapi_document(Bare)["info"]


def test_servers_come_from_the_transport(everything: dict[str, Any]) -> None:
    assert everything["servers"] == {
        "kafka": {
            "host": "broker-1.example.internal:9093,broker-2.example.internal:9093",
            "protocol": "kafka",
            "protocolVersion": "4.0",
            "description": "Production cluster",
            "security": [{"$ref": "#/components/securitySchemes/scramSha512"}],
        }
    }
    assert everything["components"]["securitySchemes"] == {
        "scramSha512": {"type": "scramSha512", "description": "SASL SCRAM-SHA-512 over TLS"}
    }


def test_the_demo_describes_its_kafka_broker() -> None:
    document = asyncapi_document(Demo)
    assert document["servers"] == {"kafka": {"host": "localhost:9092", "protocol": "kafka"}}
    assert list(document["channels"]) == ["input_data", "output_data"]


def test_several_bootstrap_servers_are_numbered() -> None:
    transport = DescribedTransport(
        TransportDescription(
            protocol="kafka",
            servers=(
                ServerDescription(host="a:9092", protocol="kafka"),
                ServerDescription(host="b:9092", protocol="kafka"),
            ),
        )
    )

    class Clustered(core.Service):
        broker = transport

    assert asyncapi_document(Clustered)["servers"] == {
        "kafka-1": {"host": "a:9092", "protocol": "kafka"},
        "kafka-2": {"host": "b:9092", "protocol": "kafka"},
    }


def test_a_channel_per_topic(everything: dict[str, Any]) -> None:
    channels = everything["channels"]
    topics = [c["address"] for c in channels.values() if c["address"] is not None]
    assert topics == [
        "orders",
        "order-events",
        "stock",
        "stock-corrections",
        "stock-levels",
        "blobs",
        "tombstones",
        "scanned",
        "scanned-packed",
        "announcements",
    ]
    assert all(channel_id == channels[channel_id]["address"] for channel_id in topics)


def test_a_pattern_is_described_not_dropped(everything: dict[str, Any]) -> None:
    channel = everything["channels"]["pattern.audit"]
    # A regex is not an address (AsyncAPI would read `{}` as parameters): it is unknown
    # until run time, and the pattern itself is stated.
    assert channel["address"] is None
    assert channel["x-stream-topic-pattern"] == r"audit\..*"
    assert channel["title"] == r"Topics matching audit\..*"
    assert "regular expression `audit\\..*`" in channel["description"]
    operation = everything["operations"]["Everything.on_audit.receive.pattern.audit"]
    assert operation["channel"] == {"$ref": "#/channels/pattern.audit"}
    assert operation["x-stream-delivery"]["deadLetterTopic"] == "<topic>.dead"


def test_receive_for_consume_and_send_for_produce(everything: dict[str, Any]) -> None:
    actions = {name: op["action"] for name, op in everything["operations"].items()}
    assert actions == {
        "Everything.on_order.receive.orders": "receive",
        "Everything.on_order.send.order-events": "send",
        "Everything.on_stock.receive.stock": "receive",
        "Everything.on_stock.receive.stock-corrections": "receive",
        "Everything.on_stock.send.stock-levels": "send",
        "Everything.on_audit.receive.pattern.audit": "receive",
        "Everything.on_blob.receive.blobs": "receive",
        "Everything.on_maybe_order.receive.tombstones": "receive",
        "Everything.on_scan.receive.scanned": "receive",
        "Everything.on_scan.send.scanned-packed": "send",
        "Everything.announce.send.announcements": "send",
    }


def test_operations_point_at_their_channel_and_message(everything: dict[str, Any]) -> None:
    operation = everything["operations"]["Everything.on_order.send.order-events"]
    assert operation["channel"] == {"$ref": "#/channels/order-events"}
    assert operation["messages"] == [{"$ref": "#/channels/order-events/messages/OrderEvent"}]
    assert operation["title"] == "Everything.on_order"
    assert operation["summary"] == "Accepts an order and says it shipped."
    assert operation["description"].endswith("so they go to the dead-letter topic.")
    assert operation["tags"] == [{"name": "Everything"}]


def test_kafka_operation_bindings(everything: dict[str, Any]) -> None:
    receive = everything["operations"]["Everything.on_order.receive.orders"]
    assert receive["bindings"] == {
        "kafka": {
            "groupId": {"type": "string", "enum": ["order-takers"]},
            "clientId": {"type": "string", "enum": ["orders-service"]},
            "bindingVersion": "0.5.0",
        }
    }
    derived = everything["operations"]["Everything.on_stock.receive.stock"]
    assert derived["bindings"]["kafka"]["groupId"]["enum"] == ["Everything.on_stock"]
    send = everything["operations"]["Everything.announce.send.announcements"]
    assert send["bindings"] == {
        "kafka": {
            "clientId": {"type": "string", "enum": ["orders-service"]},
            "bindingVersion": "0.5.0",
        }
    }


def test_delivery_is_stated(everything: dict[str, Any]) -> None:
    operations = everything["operations"]
    assert operations["Everything.on_order.receive.orders"]["x-stream-delivery"] == {
        "guarantee": "at_least_once",
        "attempts": 3,
        "deadLetterTopic": "orders.dlq",
    }
    blob = operations["Everything.on_blob.receive.blobs"]["x-stream-delivery"]
    assert blob["deadLetterTopic"] is None
    assert blob["partitions"] == [0, 1]
    at_most = operations["Everything.on_maybe_order.receive.tombstones"]["x-stream-delivery"]
    assert at_most["guarantee"] == "at_most_once"


def test_payloads_are_pydantic_schemas_shared_in_components(everything: dict[str, Any]) -> None:
    order = message(everything, "orders", "Order")
    assert order["payload"] == {"$ref": "#/components/schemas/Order"}
    assert order["contentType"] == "application/json"
    assert order["summary"] == "An order as the shop submits it."
    schemas = everything["components"]["schemas"]
    assert schemas["Order"]["properties"]["lines"] == {
        "items": {"$ref": "#/components/schemas/tests.asyncapi.models_a.Item"},
        "minItems": 1,
        "title": "Lines",
        "type": "array",
    }
    assert schemas["Order"]["properties"]["order_id"]["description"] == "The shop's order number"


def test_same_class_names_from_two_modules_do_not_collide(everything: dict[str, Any]) -> None:
    schemas = everything["components"]["schemas"]
    assert models_a.Item.__name__ == models_b.Item.__name__ == "Item"
    assert "Item" not in schemas
    assert set(schemas["tests.asyncapi.models_a.Item"]["properties"]) == {"sku", "quantity"}
    assert "on_hand" in schemas["tests.asyncapi.models_b.Item-Input"]["properties"]


def test_a_unique_class_name_stays_short() -> None:
    document = asyncapi_document(Demo)
    assert list(document["components"]["schemas"]) == ["DataBasic"]


def test_names_do_not_depend_on_what_else_is_described() -> None:
    class OnlyA(core.Service):
        @consume("a")
        async def on_a(self, item: models_a.Item) -> None: ...

    class Both(core.Service):
        @consume("a")
        async def on_a(self, item: models_a.Item) -> None: ...

        @consume("b")
        async def on_b(self, item: models_b.Item) -> None: ...

    assert list(asyncapi_document(OnlyA)["components"]["schemas"]) == ["Item"]
    assert list(asyncapi_document(Both)["components"]["schemas"]) == [
        "tests.asyncapi.models_a.Item",
        "tests.asyncapi.models_b.Item",
    ]


def test_read_and_written_forms_differ_only_when_pydantic_says_so(
    everything: dict[str, Any],
) -> None:
    # models_b.Item has a computed field: what a producer writes has it, a reader need not.
    schemas = everything["components"]["schemas"]
    assert "available" not in schemas["tests.asyncapi.models_b.Item-Input"]["properties"]
    assert schemas["tests.asyncapi.models_b.Item-Output"]["properties"]["available"]["readOnly"]
    assert message(everything, "stock-levels", "tests.asyncapi.models_b.Item-Output")


def test_a_handler_replies_at_the_requests_reply_to_header(everything: dict[str, Any]) -> None:
    operations = everything["operations"]
    reply = operations["Everything.on_order.receive.orders"]["reply"]
    assert reply["address"]["location"] == "$message.header#/reply_to"
    assert "correlation_id" in reply["address"]["description"]
    # A batch handler answers no request.
    assert "reply" not in operations["Everything.on_stock.receive.stock"]
    assert all("reply" not in op for op in operations.values() if op["action"] == "send")


def test_batch_handlers_describe_the_element(everything: dict[str, Any]) -> None:
    received = message(everything, "stock", "tests.asyncapi.models_b.Item-Input")
    assert received["payload"] == {
        "$ref": "#/components/schemas/tests.asyncapi.models_b.Item-Input"
    }
    sent = message(everything, "stock-levels", "tests.asyncapi.models_b.Item-Output")
    assert sent["payload"] == {"$ref": "#/components/schemas/tests.asyncapi.models_b.Item-Output"}
    delivery = everything["operations"]["Everything.on_stock.receive.stock"]["x-stream-delivery"]
    assert delivery["batch"] is True
    assert delivery["maxRecords"] == 100


def test_examples_come_from_field_examples(everything: dict[str, Any]) -> None:
    assert message(everything, "orders", "Order")["examples"] == [
        {
            "payload": {
                "order_id": 1001,
                "customer": "ada@example.org",
                "lines": [{"sku": "SKU-1", "quantity": 2}],
                "note": None,
            }
        }
    ]
    schema = everything["components"]["schemas"]["Announcement"]
    assert schema["properties"]["text"]["examples"] == ["Sale starts at noon"]


def test_a_models_own_examples_come_first(everything: dict[str, Any]) -> None:
    examples = message(everything, "order-events", "OrderEvent")["examples"]
    assert [e["payload"]["order_id"] for e in examples] == [1001, 1002]
    assert all(e["headers"] == {"source": "orders"} for e in examples)


def test_no_example_is_made_up() -> None:
    class Plain(BaseModel):
        name: str

    class Quiet(core.Service):
        @consume("plain")
        async def on_plain(self, value: Plain) -> None: ...

    assert "examples" not in message(asyncapi_document(Quiet), "plain", "Plain")


def test_a_declared_key_is_described(everything: dict[str, Any]) -> None:
    events = message(everything, "order-events", "OrderEvent")
    assert events["bindings"] == {
        "kafka": {
            "key": {
                "type": "string",
                "description": "The message's `order_id` field, as text.",
                "examples": ["1001", "1002"],
            },
            "bindingVersion": "0.5.0",
        }
    }
    announcement = message(everything, "announcements", "Announcement")
    key = announcement["bindings"]["kafka"]["key"]
    assert key["description"] == "Computed from the message by `announcement_key`."
    assert "bindings" not in message(everything, "orders", "Order")


def test_produced_headers_are_described(everything: dict[str, Any]) -> None:
    assert message(everything, "order-events", "OrderEvent")["headers"] == {
        "type": "object",
        "properties": {"source": {"type": "string", "const": "orders"}},
        "required": ["source"],
    }


def test_a_handler_codec_names_its_content_type(everything: dict[str, Any]) -> None:
    # The service's codec is JSON, the document's default; this handler's is MessagePack.
    for channel in ("scanned", "scanned-packed"):
        packed = message(everything, channel, "tests.asyncapi.models_a.Item")
        assert packed["contentType"] == "application/msgpack"
        assert packed["payload"] == {"$ref": "#/components/schemas/tests.asyncapi.models_a.Item"}


def test_a_service_codec_is_the_default_content_type() -> None:
    class Packed(core.Service):
        codec = core.MsgPackCodec()

        @produce("out")
        @consume("in")
        async def handle(self, item: models_a.Item) -> str:
            return item.sku

    document = asyncapi_document(Packed)
    assert document["defaultContentType"] == "application/msgpack"
    assert message(document, "in", "Item")["contentType"] == "application/msgpack"
    assert message(document, "out", "str")["contentType"] == "text/plain"  # raw: always
    together = asyncapi_document(Packed, Auditor)  # codecs differ: JSON is the default
    assert together["defaultContentType"] == "application/json"


def test_raw_bodies_and_tombstones(everything: dict[str, Any]) -> None:
    text = message(everything, "pattern.audit", "str")
    assert (text["contentType"], text["payload"]) == ("text/plain", {"type": "string"})
    blob = message(everything, "blobs", "bytes")
    assert blob["contentType"] == "application/octet-stream"
    assert blob["payload"] == {"type": "string", "format": "binary"}
    tombstones = message(everything, "tombstones", "Order_or_None")
    assert tombstones["title"] == "Order or None"
    assert tombstones["payload"] == {
        "anyOf": [{"$ref": "#/components/schemas/Order"}, {"type": "null"}]
    }


def test_discriminated_unions_and_tuples_use_asyncapi_forms(everything: dict[str, Any]) -> None:
    properties = everything["components"]["schemas"]["OrderEvent"]["properties"]
    assert properties["event"]["discriminator"] == "kind"
    position = properties["position"]["anyOf"][0]
    assert position["items"] == [{"type": "number"}, {"type": "number"}]
    assert "prefixItems" not in position


def test_several_services_share_channels_and_servers() -> None:
    document = asyncapi_document(Everything, Auditor)
    assert document["info"]["title"] == "Everything, Auditor"
    assert [tag["name"] for tag in document["info"]["tags"]] == ["Everything", "Auditor"]
    assert list(document["servers"]) == ["kafka"]
    channel = document["channels"]["order-events"]
    assert list(channel["messages"]) == ["OrderEvent"]  # the reader's and the writer's
    received = document["operations"]["Auditor.on_order_event.receive.order-events"]
    assert received["messages"] == [{"$ref": "#/channels/order-events/messages/OrderEvent"}]
    assert channel["messages"]["OrderEvent"]["bindings"]["kafka"]["key"]["type"] == "string"


def test_services_on_different_brokers_name_their_servers_per_channel() -> None:
    other = DescribedTransport(
        TransportDescription(
            protocol="kafka", servers=(ServerDescription(host="other:9092", protocol="kafka"),)
        )
    )

    class Elsewhere(core.Service):
        broker = other

        @consume("elsewhere")
        async def on_elsewhere(self, value: int) -> None: ...

    document = asyncapi_document(Demo, Elsewhere)
    assert list(document["servers"]) == ["kafka-1", "kafka-2"]
    assert document["channels"]["input_data"]["servers"] == [{"$ref": "#/servers/kafka-1"}]
    assert document["channels"]["elsewhere"]["servers"] == [{"$ref": "#/servers/kafka-2"}]


def test_two_services_of_the_same_name_are_told_apart() -> None:
    class Service(core.Service):
        @consume("input_data")
        async def on_input_data(self, value: int) -> None: ...

    document = asyncapi_document(Demo, Service)
    titles = {op["title"] for op in document["operations"].values()}
    assert titles == {
        "demo.app.Service.on_input_data",
        f"{__name__}.{Service.__qualname__}.on_input_data",
    }


def test_instances_and_classes_give_the_same_document() -> None:
    assert asyncapi_document(Demo()) == asyncapi_document(Demo)


def test_a_service_without_broker_has_no_servers_but_kafka_bindings() -> None:
    class Brokerless(core.Service):
        @produce("out")
        @consume("in")
        async def on_in(self, value: int) -> int:
            return value

    document = asyncapi_document(Brokerless)
    assert "servers" not in document
    receive = document["operations"]["Brokerless.on_in.receive.in"]
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == ["Brokerless.on_in"]
    assert message(document, "in", "int")["payload"] == {"type": "integer"}


def test_an_in_memory_service_gets_no_kafka_bindings() -> None:
    class InMemory(core.Service):
        broker = MemoryBroker()

        @consume("in")
        async def on_in(self, value: int) -> None: ...

    document = asyncapi_document(InMemory)
    assert "servers" not in document
    assert "bindings" not in document["operations"]["InMemory.on_in.receive.in"]


def test_model_and_renderer_are_separate() -> None:
    api = describe(Demo)
    (service,) = api.services
    assert [(op.action, op.channel.label) for op in service.operations] == [
        ("receive", "input_data"),
        ("send", "output_data"),
    ]


def test_yaml_and_json_say_the_same(everything: dict[str, Any]) -> None:
    assert json.loads(to_json(everything)) == everything
    assert yaml.safe_load(to_yaml(everything)) == everything
    # Docstrings stay readable: several lines are a literal block, not a quoted string.
    assert "description: |-\n    Takes orders" in to_yaml(everything)


def test_mistakes_say_what_to_change() -> None:
    with pytest.raises(
        ValueError, match=r"AsyncAPI 2\.6\.0 is not supported; use one of 3\.1\.0, 3\.0\.0"
    ):
        asyncapi_document(Demo, version="2.6.0")
    with pytest.raises(ValueError, match="at least one service"):
        asyncapi_document()
    with pytest.raises(TypeError, match="is not a stream service"):
        asyncapi_document(int)  # type: ignore[arg-type]

    class Broken(core.Service):
        @consume("in")
        async def on_in(self, value) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(BindError, match=r"Broken\.on_in: parameter `value` has no type annotation"):
        asyncapi_document(Broken)


def test_the_default_version_is_the_installing_distributions() -> None:
    assert version_of_module("demo.app") == "0.1.0"  # stream-demo, installed editable
    assert version_of_module("yaml") == metadata.version("pyyaml")  # installed from a wheel
    assert version_of_module(__name__) is None  # tests belong to no distribution


def test_a_recursive_model_gets_a_finite_example() -> None:
    class Node(BaseModel):
        name: str = Field(examples=["root"])
        children: list["Node"] = []

    class Trees(core.Service):
        @consume("trees")
        async def on_tree(self, tree: Node) -> None: ...

    document = asyncapi_document(Trees)
    assert message(document, "trees", "Node")["examples"] == [
        {"payload": {"name": "root", "children": []}}
    ]
    node = document["components"]["schemas"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}


def test_a_type_without_json_schema_does_not_break_the_document() -> None:
    class Odd(core.Service):
        @consume("odd")
        async def on_odd(self, value: Callable[[], int]) -> None: ...

    payload = message(asyncapi_document(Odd), "odd", "Callable_int")["payload"]
    assert payload == {"description": "Callable[[], int] (no JSON schema)"}
