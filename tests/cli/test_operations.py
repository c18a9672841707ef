"""``stream run --http``, ``--log-format json`` and ``--log-config``, on the in-memory broker."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.cli.conftest import StartStream, WriteModule
from tests.cli.helpers import run_stream

SERVICE = """
    from pydantic import BaseModel
    from stream import core
    from stream.core import Logger, consume, produce
    from stream.prometheus import Metrics
    from stream.testing import MemoryBroker

    class Data(BaseModel):
        data: float

    class Service(core.Service):
        broker = MemoryBroker(raise_handler_errors=False)
        middlewares = (Metrics(),)

        @produce("out")
        @consume("in")
        async def on_in(self, msg: Data) -> Data:
            return Data(data=msg.data + 1)

        @consume("out")
        async def on_out(self, msg: Data, logger: Logger) -> None:
            logger.info("out %s", msg.data)

        async def after_startup(self) -> None:
            await self.publish(Data(data=1.0), "in")
            await self.publish(b"not json", "in")
"""
SERVING = r"Serving /live, /ready and /metrics on http://127\.0\.0\.1:(\d+)"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_http_serves_live_ready_and_the_services_metrics(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--http", "127.0.0.1:0"])
    port = stream.wait_for(SERVING).group(1)
    stream.wait_for("Service started")
    base = f"http://127.0.0.1:{port}"
    assert get(f"{base}/live") == (200, '{"live": true}')
    code, body = get(f"{base}/ready")
    ready: dict[str, Any] = json.loads(body)
    assert code == 200
    assert ready["ready"] is True
    assert ready["broker"] == "answers"
    assert {s["name"]: s["state"] for s in ready["subscriptions"]} == {
        "Service.on_in": "assigned",
        "Service.on_out": "assigned",
    }
    code, metrics = get(f"{base}/metrics")
    assert code == 200
    on_in = 'handler="Service.on_in",topic="in"'
    assert f"stream_messages_received_total{{{on_in}}} 2.0" in metrics
    assert f"stream_messages_handled_total{{{on_in}}} 1.0" in metrics
    assert f"stream_messages_dead_lettered_total{{{on_in}}} 1.0" in metrics
    assert (
        'stream_consumer_lag{group="Service.on_in",handler="Service.on_in",partition="0",topic="in"} 0.0'
        in metrics
    )
    assert stream.stop() == 0


def test_http_refuses_an_address_without_a_port(write_module: WriteModule) -> None:
    result = run_stream(["run", "svc:Service", "--http", "localhost"])
    assert result.returncode == 2
    assert "give HOST:PORT, e.g. 0.0.0.0:8080" in result.stderr


def test_json_logs_are_one_object_a_line_with_the_messages_place(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--log-format", "json"])
    stream.wait_for('"message": "Service started"')
    assert stream.stop() == 0
    lines = [json.loads(line) for line in stream.lines]
    assert all({"time", "level", "logger", "message", "service"} <= set(line) for line in lines)
    assert all(line["service"] == "Service" for line in lines)
    [handled] = [line for line in lines if line["message"] == "out 2.0"]
    assert handled["level"] == "INFO"
    assert handled["logger"] == "stream.Service"
    assert (handled["handler"], handled["topic"], handled["partition"], handled["offset"]) == (
        "Service.on_out",
        "out",
        0,
        0,
    )
    assert handled["time"].endswith("Z")
    outside = [line for line in lines if line["message"] == "Service starting..."]
    assert "handler" not in outside[0]


def test_log_config_applies_a_yaml_dict_config(
    write_module: WriteModule, start_stream: StartStream, tmp_path: Path
) -> None:
    write_module("svc", SERVICE)
    (tmp_path / "logging.yaml").write_text(
        """
        version: 1
        formatters:
          mine: {format: "MINE %(name)s %(levelname)s %(message)s"}
        handlers:
          err: {class: logging.StreamHandler, formatter: mine, stream: ext://sys.stderr}
        root: {level: INFO, handlers: [err]}
        """.replace("\n        ", "\n")
    )
    stream = start_stream(["run", "svc:Service", "--log-config", "logging.yaml"])
    stream.wait_for("^MINE stream.Service INFO Service started$")
    assert stream.stop() == 0
    assert "MINE stream.Service INFO out 2.0" in stream.lines


def test_a_log_config_that_is_not_a_mapping_is_one_clear_line(
    write_module: WriteModule, tmp_path: Path
) -> None:
    write_module("svc", SERVICE)
    (tmp_path / "logging.json").write_text("[1, 2]")
    result = run_stream(["run", "svc:Service", "--log-config", "logging.json"], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --log-config logging.json: expected a mapping for logging.config.dictConfig "
        '(with "version": 1), not a list'
    )
