"""``/ready`` and ``/live`` against a real broker that stops, comes back, or a subscription
that fails."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from stream.cli._http import probes
from stream.core import DeliveryPolicy, Service, consume
from stream.kafka import KafkaBroker, SubscriptionFailedError
from stream.kafka_local import LocalKafka, LocalKafkaConfig
from tests.cli.conftest import StartStream, WriteModule
from tests.cli.kafka_tools import create_topic, send_to_partitions

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]

SERVICE = """
    from stream import core
    from stream.core import consume
    from stream.kafka import ConsumerOptions, KafkaBroker

    class Service(core.Service):
        # Heartbeats every 0.5 s: the member notices a lost coordinator that soon.
        broker = KafkaBroker(
            "127.0.0.1:1",
            consumer=ConsumerOptions(session_timeout_ms=6000, heartbeat_interval_ms=500),
        )

        @consume("TOPIC", group_id="GROUP")
        async def on_in(self, msg: dict[str, float]) -> None: ...
"""
SERVING = r"Serving /live, /ready and /metrics on http://127\.0\.0\.1:(\d+)"


@pytest.fixture(scope="module")
def own_kafka() -> Iterator[LocalKafka]:
    """A broker of this module's own, so a test may stop it: never the session's."""
    kafka = LocalKafka(LocalKafkaConfig(partitions=1))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_code(url: str, code: int, timeout: float, *, live_url: str) -> float:
    """Polls ``url`` until it answers ``code``; ``/live`` must answer 200 meanwhile.
    Returns the seconds it took."""
    began = time.monotonic()
    while True:
        assert get(live_url) == (200, {"live": True})
        answered, _ = get(url)
        waited = time.monotonic() - began
        if answered == code:
            return waited
        assert waited < timeout, f"{url} still answers {answered} after {timeout} s"
        time.sleep(0.25)  # polling, as a probe does


def test_ready_follows_the_broker_and_live_stays_true_through_an_outage(
    own_kafka: LocalKafka, write_module: WriteModule, start_stream: StartStream, uid: str
) -> None:
    topic = f"probes-{uid}"
    create_topic(own_kafka.bootstrap_servers, topic, 2)
    write_module("svc", SERVICE.replace("TOPIC", topic).replace("GROUP", f"group-{uid}"))
    stream = start_stream(
        [
            "run",
            "svc:Service",
            "--bootstrap-servers",
            own_kafka.bootstrap_servers,
            "--http",
            "127.0.0.1:0",
        ]
    )
    base = f"http://127.0.0.1:{stream.wait_for(SERVING).group(1)}"
    ready, live = f"{base}/ready", f"{base}/live"
    wait_for_code(ready, 200, 60, live_url=live)
    _, body = get(ready)
    [subscription] = body["subscriptions"]
    assert subscription["state"] == "assigned"
    assert sorted(subscription["partitions"]) == [f"{topic}[0]", f"{topic}[1]"]

    own_kafka.kill()
    went_down = wait_for_code(ready, 503, 15, live_url=live)
    _, body = get(ready)
    assert body["ready"] is False

    own_kafka.start()
    came_back = wait_for_code(ready, 200, 90, live_url=live)
    print(
        f"/ready turned 503 {went_down:.1f} s after the broker died, 200 {came_back:.1f} s after it was back"
    )
    assert stream.stop() == 0


async def test_live_turns_false_when_a_subscription_fails(kafka_bootstrap: str, uid: str) -> None:
    topic = f"fails-{uid}"
    await anyio.to_thread.run_sync(create_topic, kafka_bootstrap, topic, 1)

    class Fails(Service):
        @consume(topic, group_id=f"group-{uid}", delivery=DeliveryPolicy(dead_letter=None))
        async def on_in(self, msg: dict[str, float]) -> None:
            raise RuntimeError("no dead-letter topic: this stops the subscription")

    service, broker = Fails(), KafkaBroker(kafka_bootstrap)
    await service.start(broker)
    try:
        async with probes("127.0.0.1:0", broker) as (host, port):
            live = f"http://{host}:{port}/live"
            assert await anyio.to_thread.run_sync(get, live) == (200, {"live": True})
            records = [(0, b'{"data": 1}')]
            await anyio.to_thread.run_sync(send_to_partitions, kafka_bootstrap, topic, records)
            with anyio.fail_after(30):
                while (answer := await anyio.to_thread.run_sync(get, live))[0] == 200:  # noqa: ASYNC110 (polling, as a probe does)
                    await anyio.sleep(0.2)
            code, body = answer
            assert code == 503
            assert body["live"] is False
            assert "Fails.on_in" in body["failed"][0]
            code, body = await anyio.to_thread.run_sync(get, f"http://{host}:{port}/ready")
            assert code == 503
            assert body["subscriptions"][0]["state"] == "failed"
    finally:
        with pytest.raises(SubscriptionFailedError):
            await service.stop()
