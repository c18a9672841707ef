"""Production: servers, SASL over TLS, bounded shutdown, declared topics."""

import os

from stream.core import Service, Topic, consume
from stream.kafka import (
    TLS,
    ConsumerOptions,
    KafkaBroker,
    ProducerOptions,
    SASLScram512,
)


# --8<-- [start:broker]
def production_broker() -> KafkaBroker:
    return KafkaBroker(
        "kafka-1:9093,kafka-2:9093,kafka-3:9093",
        client_id="thermo",
        security=SASLScram512(
            username="thermo",
            password=os.environ.get("KAFKA_PASSWORD", ""),
            tls=TLS(
                cafile="/etc/kafka/ca.pem"
            ),  # the CA that signed the brokers' certificates
        ),
        # Finish in-flight work within 20 s of SIGTERM, inside Kubernetes'
        # 30 s grace period.
        shutdown_timeout=20,
        consumer=ConsumerOptions(session_timeout_ms=15_000),
        producer=ProducerOptions(compression_type="zstd"),
    )


# --8<-- [end:broker]
# --8<-- [start:static]
def static_member_broker() -> KafkaBroker:
    return KafkaBroker(
        "kafka-1:9093,kafka-2:9093,kafka-3:9093",
        consumer=ConsumerOptions(
            # Stable across this pod's restarts, different on every pod
            # (a StatefulSet's pod name).
            group_instance_id=os.environ.get("POD_NAME", "thermo-0"),
            # A restart within 45 s keeps the partitions without a rebalance.
            session_timeout_ms=45_000,
        ),
    )


# --8<-- [end:static]
# --8<-- [start:mtls]
MUTUAL_TLS = TLS(
    cafile="/etc/kafka/ca.pem",
    certfile="/etc/kafka/thermo.pem",  # authenticates the service
    keyfile="/etc/kafka/thermo.key",
)


# --8<-- [end:mtls]
# --8<-- [start:topics]
class Payments(Service):
    # A consumed topic that neither exists nor is declared stops the start.
    broker = KafkaBroker("kafka-1:9093,kafka-2:9093", missing_topics="fail")
    topics = (
        Topic(
            "payments",
            partitions=12,
            replication_factor=3,
            config={"min.insync.replicas": "2", "retention.ms": "604800000"},
        ),
    )

    @consume("payments")  # its dead-letter topic payments.dlq is made like it
    async def on_payment(self, payment: dict[str, str]) -> None: ...


# --8<-- [end:topics]
