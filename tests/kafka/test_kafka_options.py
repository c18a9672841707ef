"""KafkaBroker's settings, security mapping and binding errors: no broker needed."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from pydantic import BaseModel

from stream.core import (
    BindError,
    NotRunningError,
    OutgoingMessage,
    Service,
    consume,
)
from stream.core.transport import ConsumeOptions, ServerDescription, Subscription
from stream.kafka import (
    TLS,
    ConsumerOptions,
    KafkaBroker,
    ProducerOptions,
    SASLPlain,
    SASLScram256,
    SASLScram512,
)
from stream.kafka._options import consumer_kwargs, producer_kwargs
from stream.kafka._security import security_kwargs


class Reading(BaseModel):
    data: float


def test_no_security_is_plaintext() -> None:
    assert security_kwargs(None) == {"security_protocol": "PLAINTEXT"}


def test_tls_maps_to_ssl_with_a_context() -> None:
    context = ssl.create_default_context()
    assert security_kwargs(TLS(ssl_context=context)) == {
        "security_protocol": "SSL",
        "ssl_context": context,
    }
    built = security_kwargs(TLS(check_hostname=False))
    assert built["security_protocol"] == "SSL"
    assert isinstance(built["ssl_context"], ssl.SSLContext)
    assert built["ssl_context"].check_hostname is False


@pytest.mark.parametrize(
    ("security", "protocol", "mechanism"),
    [
        (SASLPlain(username="u", password="p"), "SASL_PLAINTEXT", "PLAIN"),
        (SASLScram256(username="u", password="p"), "SASL_PLAINTEXT", "SCRAM-SHA-256"),
        (SASLScram512(username="u", password="p"), "SASL_PLAINTEXT", "SCRAM-SHA-512"),
        (SASLScram512(username="u", password="p", tls=TLS()), "SASL_SSL", "SCRAM-SHA-512"),
        (SASLPlain(username="u", password="p", tls=TLS()), "SASL_SSL", "PLAIN"),
    ],
)
def test_sasl_maps_to_aiokafka_settings(security: Any, protocol: str, mechanism: str) -> None:
    kwargs = security_kwargs(security)
    assert kwargs["security_protocol"] == protocol
    assert kwargs["sasl_mechanism"] == mechanism
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("u", "p")
    assert isinstance(kwargs.get("ssl_context"), ssl.SSLContext) is (protocol == "SASL_SSL")


def test_passwords_stay_out_of_reprs() -> None:
    assert "secret" not in repr(SASLScram256(username="u", password="secret"))
    assert "secret" not in repr(TLS(certfile="c.pem", keyfile="k.pem", password="secret"))


def test_tls_rejects_a_context_together_with_files() -> None:
    with pytest.raises(ValueError, match="either ssl_context or cafile"):
        TLS(ssl_context=ssl.create_default_context(), cafile="ca.pem")


def test_describe_names_servers_protocol_and_security() -> None:
    broker = KafkaBroker("a:9092, b:9092", client_id="svc")
    description = broker.describe()
    assert description.protocol == "kafka"
    assert description.client_id == "svc"
    assert description.servers == (
        ServerDescription(host="a:9092", protocol="kafka"),
        ServerDescription(host="b:9092", protocol="kafka"),
    )
    secure = KafkaBroker(["a:9093"], security=SASLScram512(username="u", password="p", tls=TLS()))
    (server,) = secure.describe().servers
    assert server.protocol == "kafka-secure"
    assert server.security == ({"type": "scramSha512"},)
    (plain,) = (
        KafkaBroker("a:9092", security=SASLPlain(username="u", password="p")).describe().servers
    )
    assert (plain.protocol, plain.security) == ("kafka", ({"type": "plain"},))


def test_with_bootstrap_copies_every_setting() -> None:
    security = SASLPlain(username="u", password="p")
    producer = ProducerOptions(max_batch_size=64 * 1024)
    consumer = ConsumerOptions(session_timeout_ms=20_000)
    broker = KafkaBroker(
        "a:9092",
        client_id="svc",
        security=security,
        producer=producer,
        consumer=consumer,
        shutdown_timeout=5,
    )
    copy = broker.with_bootstrap("b:9092,c:9092")
    assert copy is not broker
    assert copy.bootstrap_servers == ("b:9092", "c:9092")
    assert broker.bootstrap_servers == ("a:9092",)
    assert (copy.client_id, copy.security, copy.producer_options, copy.consumer_options) == (
        "svc",
        security,
        producer,
        consumer,
    )
    assert copy.shutdown_timeout == 5


def test_producer_always_waits_for_all_replicas_and_is_idempotent() -> None:
    kwargs = producer_kwargs(ProducerOptions(extra={"retry_backoff_ms": 50}))
    assert kwargs["acks"] == "all"
    assert kwargs["enable_idempotence"] is True
    assert kwargs["retry_backoff_ms"] == 50
    with pytest.raises(BindError, match="`acks` cannot be set here"):
        producer_kwargs(ProducerOptions(extra={"acks": 1}))


def _service(**consume_options: Any) -> Service:
    class Svc(Service):
        broker = KafkaBroker("127.0.0.1:1")

        @consume("topic", **consume_options)
        async def on_reading(self, msg: Reading) -> None: ...

    return Svc()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"transport_options": {"bogus_option": 1}}, "`bogus_option` is not an option of aiokafka"),
        ({"transport_options": {"enable_auto_commit": True}}, "stream commits after handling"),
        ({"transport_options": {"group_id": "x"}}, r"use @consume\(group_id=...\)"),
        ({"transport_options": {"isolation_level": "dirty"}}, "isolation_level='dirty'"),
        (
            {"transport_options": {"heartbeat_interval_ms": 20_000}},
            "heartbeat_interval_ms .20000. must be below session_timeout_ms",
        ),
    ],
)
async def test_wrong_options_are_bind_errors_naming_the_handler(
    options: dict[str, Any], error: str
) -> None:
    service = _service(**options)
    with pytest.raises(BindError, match=f"Svc.on_reading.*{error}"):
        await service.start()
    with pytest.raises(NotRunningError):
        _ = service.transport  # nothing was started


@pytest.mark.anyio
async def test_stop_before_start_is_harmless_and_publish_needs_a_start() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    await broker.stop()
    await broker.stop()
    with pytest.raises(NotRunningError, match="not started"):
        await broker.publish(OutgoingMessage("topic", b"{}"))


@pytest.mark.anyio
async def test_ping_says_false_when_nothing_answers() -> None:
    assert await KafkaBroker("127.0.0.1:1").ping(2.0) is False


def _static(options: ConsumerOptions, **consume: Any) -> dict[str, Any]:
    subscription = Subscription(
        name="Svc.on<reading>",
        group_id="g",
        options=ConsumeOptions(**{"topics": ("in",), **consume}),
    )
    return consumer_kwargs(options, subscription)


def test_static_membership_gives_each_subscription_its_own_instance_id() -> None:
    assert "group_instance_id" not in _static(ConsumerOptions())
    static = ConsumerOptions(group_instance_id="pod/7")
    assert _static(static)["group_instance_id"] == "pod_7-Svc.on_reading_"
    # Assigned partitions join no group, so they have no member to keep.
    assert "group_instance_id" not in _static(static, partitions=(0,))
    chosen = _static(static, transport_options={"group_instance_id": "mine"})
    assert chosen["group_instance_id"] == "mine"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (ConsumerOptions(extra={"group_instance_id": "a"}), r"ConsumerOptions\(group_instance_id"),
        (ConsumerOptions(group_instance_id=""), "names no instance"),
    ],
)
def test_a_shared_or_empty_instance_id_is_a_bind_error(
    options: ConsumerOptions, error: str
) -> None:
    with pytest.raises(BindError, match=error):
        _static(options)
