"""``stream offsets show|reset`` against a real Apache Kafka broker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import StartStream, WriteModule
from tests.cli.helpers import run_stream
from tests.cli.kafka_tools import create_topic, send_at_times

pytestmark = pytest.mark.kafka

SERVICE = """
    from pydantic import BaseModel
    from stream import core
    from stream.core import Logger, consume

    class Reading(BaseModel):
        seq: int

    class Service(core.Service):
        @consume("IN_TOPIC")
        async def on_reading(self, msg: Reading, logger: Logger) -> None:
            logger.info("handled seq=%d", msg.seq)

        @consume("IN_TOPIC.audit")
        async def on_audit(self, msg: Reading) -> None: ...
"""


def offsets(tmp_path: Path, bootstrap: str, *args: str) -> tuple[int, str, str]:
    done = run_stream(
        ["offsets", *args, "--app-dir", str(tmp_path), "--bootstrap-servers", bootstrap],
        cwd=tmp_path,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.timeout(300)
def test_reset_to_a_time_replays_the_topic_into_the_handler_from_that_time_on(
    tmp_path: Path,
    write_module: WriteModule,
    start_stream: StartStream,
    kafka_bootstrap: str,
    uid: str,
) -> None:
    topic = f"readings-{uid}"
    write_module("svc", SERVICE.replace("IN_TOPIC", topic))
    create_topic(kafka_bootstrap, topic, 1)
    create_topic(kafka_bootstrap, f"{topic}.audit", 1)
    now = int(time.time() * 1000)
    hour = 3_600_000
    # seq 0-2 written three hours ago, seq 3-5 one hour ago.
    send_at_times(
        kafka_bootstrap,
        topic,
        [
            (now - (3 if seq < 3 else 1) * hour, json.dumps({"seq": seq}).encode())
            for seq in range(6)
        ],
    )
    two_hours_ago = datetime.fromtimestamp((now - 2 * hour) / 1000, UTC).isoformat()
    run = ["run", "svc:Service", "--bootstrap-servers", kafka_bootstrap]

    first = start_stream(run)
    first.wait_for_all(*(rf"handled seq={seq}$" for seq in range(6)))
    # The group has a member now: a reset would be overwritten by it, so it is refused.
    code, _, error = offsets(
        tmp_path, kafka_bootstrap, "reset", "svc:Service", "--handler", "on_reading",
        "--to", two_hours_ago, "--execute",
    )  # fmt: skip
    assert code == 1
    assert "error: consumer group Service.on_reading has 1 member(s)" in error
    assert "stop every instance of the service first" in error
    assert first.stop() == 0

    code, shown, _ = offsets(tmp_path, kafka_bootstrap, "show", "svc:Service")
    assert code == 0
    assert shown.splitlines()[:3] == [
        "group Service.on_reading (handler on_reading), 0 member(s):",
        "  TOPIC" + " " * (len(topic) - 3) + "PARTITION  COMMITTED  END  LAG",
        f"  {topic}  0          6          6    0",
    ]
    assert "group Service.on_audit (handler on_audit), 0 member(s):" in shown

    # Several handlers: which group to move must be said.
    code, _, error = offsets(tmp_path, kafka_bootstrap, "reset", "svc:Service", "--to", "0")
    assert (code, error.strip()) == (
        1,
        "error: Service has 2 consuming handlers (on_reading, on_audit); choose the one "
        "whose group to reset with --handler NAME",
    )

    reset = ["reset", "svc:Service", "--handler", "on_reading", "--to", two_hours_ago]
    code, plan, _ = offsets(tmp_path, kafka_bootstrap, *reset)
    assert code == 0
    assert f"  {topic}  0          6          3" in plan.splitlines()
    assert plan.splitlines()[-1] == (
        "Dry run: nothing changed. Add --execute to commit these offsets."
    )
    code, shown, _ = offsets(tmp_path, kafka_bootstrap, "show", "svc:Service")
    assert f"  {topic}  0          6          6    0" in shown.splitlines()  # unchanged

    code, done, _ = offsets(tmp_path, kafka_bootstrap, *reset, "--execute")
    assert code == 0
    assert done.splitlines()[-1] == "Committed: the group reads from NEW at its next start."

    second = start_stream(run)
    second.wait_for_all(*(rf"handled seq={seq}$" for seq in (3, 4, 5)))
    assert second.stop() == 0
    replayed = [line for line in second.lines if "handled seq=" in line]
    assert [line.rsplit("=", 1)[1] for line in replayed] == ["3", "4", "5"]


def test_a_bad_reset_target_says_what_is_accepted(
    tmp_path: Path, write_module: WriteModule, kafka_bootstrap: str, uid: str
) -> None:
    write_module("svc", SERVICE.replace("IN_TOPIC", f"readings-{uid}"))
    code, _, error = offsets(
        tmp_path, kafka_bootstrap, "reset", "svc:Service", "--handler", "on_reading",
        "--to", "2026-11-30T12:00:00",
    )  # fmt: skip
    assert code == 1
    assert error.strip() == (
        "error: --to '2026-11-30T12:00:00': give earliest, latest, an offset (e.g. 42) or an "
        "ISO 8601 time with its zone (e.g. 2026-11-30T12:00:00Z)"
    )
