"""``stream run`` / ``publish`` / ``--workers`` / ``dev`` against a real Apache Kafka broker."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.cli.conftest import StartStream, WriteModule
from tests.cli.helpers import run_stream, stream_children, wait_until_gone
from tests.cli.kafka_tools import create_topic, read_value_for_key, send_to_partitions

pytestmark = pytest.mark.kafka

SERVICE = """
    import os
    from pydantic import BaseModel
    from stream import core
    from stream.core import Logger, Message, consume, produce
    from stream.kafka import ConsumerOptions, KafkaBroker

    IN, OUT, GROUP = "IN_TOPIC", "OUT_TOPIC", "GROUP_ID"

    class Data(BaseModel):
        data: float
        round: int = 0

    class Service(core.Service):
        # A killed worker's partitions move after the session timeout, and a member hears
        # of a rebalance at its next heartbeat: both shorter than the defaults (10 s, 3 s).
        broker = KafkaBroker(
            "BROKER_ADDRESS",
            consumer=ConsumerOptions(session_timeout_ms=6000, heartbeat_interval_ms=500),
        )

        @produce(OUT)
        @consume(IN, group_id=GROUP)
        async def on_in(self, msg: Data, message: Message, logger: Logger) -> Data:
            logger.info(
                "got %s round=%d key=%s trace=%s partition=%d pid=%d",
                msg.data, msg.round, message.key, message.header("trace"), message.partition,
                os.getpid(),
            )
            return Data(data=msg.data + 1)

        @consume(OUT, group_id=GROUP + ".out")
        async def on_out(self, msg: Data, logger: Logger) -> None:
            logger.info("out %s", msg.data)
"""


def service_source(uid: str, address: str = "127.0.0.1:1") -> str:
    """The service on topics of its own; its broker address is unused unless no override."""
    return (
        SERVICE.replace("IN_TOPIC", f"in-{uid}")
        .replace("OUT_TOPIC", f"out-{uid}")
        .replace("GROUP_ID", f"group-{uid}")
        .replace("BROKER_ADDRESS", address)
    )


def publish(tmp_path: Path, bootstrap: str, *args: str, stdin: str | None = None) -> str:
    done = run_stream(
        ["publish", *args, "--app-dir", str(tmp_path), "--bootstrap-servers", bootstrap],
        cwd=tmp_path,
        stdin=stdin,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_run_publish_stop_and_restart_does_not_reprocess(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    write_module("svc", service_source(uid))
    run = ["run", "svc:Service", "--bootstrap-servers", kafka_bootstrap]
    stream = start_stream(run)
    stream.wait_for(r"^INFO  Service started\. Press CTRL\+C to exit$")
    assert f"INFO  in-{uid} | on_in waiting for messages (group group-{uid})" in stream.lines
    assert f"INFO  out-{uid} | on_out waiting for messages (group group-{uid}.out)" in stream.lines

    sent = publish(tmp_path, kafka_bootstrap, "svc:Service", f"in-{uid}", '{"data": 1.5}')
    assert sent == f"Published 1 message to in-{uid}\n"
    stream.wait_for(r"got 1\.5 round=0 key=None")
    stream.wait_for(r"out 2\.5")
    assert stream.stop() == 0
    assert stream.lines[-1] == "INFO  Service stopped"

    restarted = start_stream(run)
    restarted.wait_for("Service started")
    publish(tmp_path, kafka_bootstrap, "svc:Service", f"in-{uid}", '{"data": 7}')
    restarted.wait_for(r"out 8\.0")
    # Same partition, so a message not committed would have come again before this one.
    assert not any("got 1.5" in line or "out 2.5" in line for line in restarted.lines)
    assert restarted.stop() == 0


def test_publish_key_headers_and_stdin_lines(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    write_module("svc", service_source(uid))
    stream = start_stream(["run", "svc:Service", "--bootstrap-servers", kafka_bootstrap])
    stream.wait_for("Service started")
    lines = "".join(json.dumps({"data": n, "round": n}) + "\n" for n in range(1, 4))
    sent = publish(
        tmp_path,
        kafka_bootstrap,
        "svc:Service",
        f"in-{uid}",
        "-",
        "--key",
        "sensor-7",
        "--header",
        "trace=abc",
        "--header",
        "other=x",
        "--partition",
        "0",
        stdin=lines,
    )
    assert sent == f"Published 3 messages to in-{uid}\n"
    for n in range(1, 4):
        stream.wait_for(rf"got {n}\.0 round={n} key=b'sensor-7' trace=b'abc' partition=0")
    assert stream.stop() == 0


def test_publish_without_a_service_module(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    write_module("svc", service_source(uid))
    stream = start_stream(["run", "svc:Service", "--bootstrap-servers", kafka_bootstrap])
    stream.wait_for("Service started")
    publish(tmp_path, kafka_bootstrap, f"in-{uid}", '{"data": 3}')
    stream.wait_for(r"out 4\.0")
    assert stream.stop() == 0


def test_bootstrap_servers_from_the_environment(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    write_module("svc", service_source(uid))
    stream = start_stream(["run", "svc:Service"], env={"STREAM_KAFKA_BOOTSTRAP": kafka_bootstrap})
    stream.wait_for("Service started")
    assert stream.stop() == 0


def test_workers_split_partitions_and_a_survivor_takes_all(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    create_topic(kafka_bootstrap, f"in-{uid}", partitions=4)
    write_module("svc", service_source(uid))
    stream = start_stream(
        ["run", "svc:Service", "--workers", "2", "--bootstrap-servers", kafka_bootstrap]
    )
    started = stream.wait_for(r"Started 2 workers \(pids (\d+), (\d+)\)")
    pids = {int(started.group(1)), int(started.group(2))}
    stream.wait_for_all(r"\[worker 1\] Service started", r"\[worker 2\] Service started")

    handled: dict[int, dict[int, int]] = {}  # round -> partition -> pid

    def round_trip(number: int, timeout: float) -> dict[int, int]:
        """Sends one message to each partition; returns who handled which, as seen in time."""
        body = json.dumps({"data": 0, "round": number}).encode()
        send_to_partitions(kafka_bootstrap, f"in-{uid}", [(p, body) for p in range(4)])
        deadline = time.monotonic() + timeout
        while len(handled.get(number, {})) < 4 and time.monotonic() < deadline:
            try:
                stream.wait_for(r"got 0\.0 round=", timeout=max(deadline - time.monotonic(), 0.01))
            except AssertionError:
                break
            for line in stream.lines[-1:]:
                found = re.search(r"round=(\d+) .*partition=(\d) pid=(\d+)", line)
                assert found is not None
                round_, partition, pid = (int(g) for g in found.groups())
                handled.setdefault(round_, {})[partition] = pid
        return handled.get(number, {})

    # Until the group settles, one worker may still hold every partition.
    number = 0
    split: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        number += 1
        split = round_trip(number, timeout=5)
        if len(split) == 4 and set(split.values()) == pids:
            break
    assert len(split) == 4 and set(split.values()) == pids, handled
    assert sorted(list(split.values()).count(pid) for pid in pids) == [2, 2]

    victim = next(iter(pids))
    (survivor,) = pids - {victim}
    os.kill(victim, signal.SIGKILL)
    stream.wait_for(rf"ERROR Worker \d \(pid {victim}\) was killed by SIGKILL; 1 worker left")
    taken: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        number += 1
        # Rounds sent during the failover are picked up late; any round counts.
        round_trip(number, timeout=5)
        taken = next(
            (by for by in handled.values() if len(by) == 4 and set(by.values()) == {survivor}),
            {},
        )
        if taken:
            break
    assert taken, handled
    assert stream.stop() == 1  # one worker died
    assert not wait_until_gone(list(pids))


def test_the_demo_runs_as_the_readme_says(
    tmp_path: Path, start_stream: StartStream, kafka_bootstrap: str
) -> None:
    stream = start_stream(["run", "demo.app:Service", "--bootstrap-servers", kafka_bootstrap])
    stream.wait_for(r"^INFO  Service started\. Press CTRL\+C to exit$")
    banner = [
        line for line in stream.lines if line.startswith("INFO  Service ") or "waiting" in line
    ]
    assert banner == [
        "INFO  Service starting...",
        "INFO  input_data | on_input_data waiting for messages (group Service.on_input_data)",
        "INFO  Service started. Press CTRL+C to exit",
    ]
    # The demo's topics are shared with other runs: this run's reading has a key of its own,
    # and the output keeps the input's key.
    key = f"demo-{os.urandom(4).hex()}"
    publish(
        tmp_path, kafka_bootstrap, "demo.app:Service", "input_data", '{"data": 0.2}', "--key", key
    )
    output = read_value_for_key(kafka_bootstrap, "output_data", key.encode())
    assert output is not None
    assert json.loads(output) == {"data": 1.2}
    stream.wait_for(r"data=0\.2$")
    assert stream.stop() == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_dev_uses_a_broker_that_answers(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    write_module("svc", service_source(uid, address=kafka_bootstrap))
    stream = start_stream(["dev", "svc:Service", "--app-dir", str(tmp_path)])
    stream.wait_for("Service started")
    assert not any("local Kafka" in line for line in stream.lines)
    publish(tmp_path, kafka_bootstrap, "svc:Service", f"in-{uid}", '{"data": 1}')
    stream.wait_for(r"out 2\.0")
    stream.send(signal.SIGINT)
    assert stream.finish() == 0


def test_dev_starts_and_stops_a_local_kafka(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    uid: str,
) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    write_module("svc", service_source(uid, address=address))
    stream = start_stream(["dev", "svc:Service", "--app-dir", str(tmp_path)])
    stream.wait_for(rf"No broker answered at {address}; starting a local Kafka on port {port}")
    stream.wait_for(rf"Local Kafka ready at {address}", timeout=100)
    stream.wait_for("Service started")
    (service,) = stream_children(stream.proc.pid)
    publish(tmp_path, address, "svc:Service", f"in-{uid}", '{"data": 1}')
    stream.wait_for(r"out 2\.0")
    stream.send(signal.SIGINT)
    assert stream.finish() == 0
    assert stream.lines[-1] == "INFO  Stopping the local Kafka"
    assert not wait_until_gone([service])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
