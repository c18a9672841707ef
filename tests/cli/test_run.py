"""``stream run`` as a process: banner, settings, signals, workers; on the in-memory broker.

The service publishes to itself in ``after_startup``, so a message goes through without
any broker process.
"""

from __future__ import annotations

import os
import re
import signal

from tests.cli.conftest import StartStream, WriteModule
from tests.cli.helpers import pid_alive, wait_until_gone

SERVICE = """
    import anyio
    from pydantic import BaseModel
    from stream import core
    from stream.core import Logger, consume, produce
    from stream.testing import MemoryBroker

    class Data(BaseModel):
        data: float

    class Settings(BaseModel):
        increment: float = 1.0

    class Service(core.Service):
        broker = MemoryBroker()
        settings: Settings

        @produce("out")
        @consume("in")
        async def on_in(self, msg: Data, logger: Logger) -> Data:
            return Data(data=msg.data + self.settings.increment)

        @consume("out")
        async def on_out(self, msg: Data, logger: Logger) -> None:
            logger.info("out %s", msg.data)

        async def after_startup(self) -> None:
            await self.publish(Data(data=1.0), "in")

        async def on_shutdown(self) -> None:
            self.logger.info("shutting down")

    class Stuck(Service):
        async def on_shutdown(self) -> None:
            self.logger.info("shutting down forever")
            await anyio.sleep_forever()
"""


def test_banner_then_graceful_stop_on_sigterm(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service"])
    stream.wait_for(r"Service started\. Press CTRL\+C to exit$")
    assert stream.lines[:4] == [
        "INFO  Service starting...",
        "INFO  in | on_in waiting for messages (group Service.on_in)",
        "INFO  out | on_out waiting for messages (group Service.on_out)",
        "INFO  out 2.0",
    ]
    assert stream.stop() == 0
    assert "INFO  Stopping Service (SIGTERM); press CTRL+C again to force" in stream.lines
    assert stream.lines[-2:] == ["INFO  shutting down", "INFO  Service stopped"]


def test_sigint_stops_gracefully(write_module: WriteModule, start_stream: StartStream) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service"])
    stream.wait_for("Service started")
    stream.send(signal.SIGINT)
    assert stream.finish() == 0
    assert stream.lines[-1] == "INFO  Service stopped"


def test_second_sigint_forces_exit(write_module: WriteModule, start_stream: StartStream) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Stuck"])
    stream.wait_for("Stuck started")
    stream.send(signal.SIGINT)
    stream.wait_for("shutting down forever")
    stream.send(signal.SIGTERM)  # a repeated SIGTERM does not force; a supervisor may resend
    stream.send(signal.SIGINT)
    assert stream.finish() == 130
    assert "WARNING Forced exit: in-flight messages are not committed" in stream.lines


def test_settings_options_reach_the_service(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--increment", "41"])
    stream.wait_for(r"out 42\.0")
    assert stream.stop() == 0


def test_log_level_warning_hides_the_banner(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module(
        "svc",
        SERVICE
        + """
    class Loud(Service):
        async def after_startup(self) -> None:
            self.logger.warning("ready")
    """,
    )
    stream = start_stream(["run", "svc:Loud", "--log-level", "WARNING"])
    stream.wait_for("ready")
    assert stream.stop() == 0
    assert stream.lines == ["WARNING ready"]


def test_workers_report_a_dead_worker_and_exit_non_zero(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--workers", "2"])
    started = stream.wait_for(r"Started 2 workers \(pids (\d+), (\d+)\)")
    first, second = int(started.group(1)), int(started.group(2))
    stream.wait_for_all(r"\[worker 1\] Service started", r"\[worker 2\] Service started")
    # Each worker is a whole `stream run`: its own banner, settings and handlers.
    assert sum(line.endswith("out 2.0") for line in stream.lines) == 2
    os.kill(first, signal.SIGKILL)
    stream.wait_for(rf"ERROR Worker 1 \(pid {first}\) was killed by SIGKILL; 1 worker left")
    assert pid_alive(second)
    code = stream.stop()
    assert code == 1
    assert stream.lines[-1].endswith("[worker 2] Service stopped")
    assert not wait_until_gone([first, second])


def test_workers_end_with_a_killed_supervisor(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--workers", "2"])
    started = stream.wait_for(r"Started 2 workers \(pids (\d+), (\d+)\)")
    pids = [int(started.group(1)), int(started.group(2))]
    stream.wait_for_all(r"\[worker 1\] Service started", r"\[worker 2\] Service started")
    stream.proc.kill()  # no chance to stop them: the workers must notice on their own
    stream.finish()
    assert not wait_until_gone(pids), "workers outlived their supervisor"
    assert any(re.search(r"\[worker \d\] Service stopped", line) for line in stream.lines)


def test_workers_stop_together_on_sigterm(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--workers", "2"])
    stream.wait_for_all(r"\[worker 1\] Service started", r"\[worker 2\] Service started")
    assert stream.stop() == 0
    assert sum(line.endswith("Service stopped") for line in stream.lines) == 2


def test_workers_check_the_service_once_before_starting_any(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Service", "--workers", "3", "--increment", "x"])
    assert stream.finish() == 1
    assert stream.lines == [
        "error: invalid --increment 'x': Input should be a valid number, "
        "unable to parse string as a number"
    ]


def test_workers_second_sigint_kills_stuck_workers(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(["run", "svc:Stuck", "--workers", "2"])
    started = stream.wait_for(r"Started 2 workers \(pids (\d+), (\d+)\)")
    pids = [int(started.group(1)), int(started.group(2))]
    stream.wait_for_all(r"\[worker 1\] Stuck started", r"\[worker 2\] Stuck started")
    stream.send(signal.SIGINT)
    stream.wait_for_all(
        r"\[worker 1\] shutting down forever", r"\[worker 2\] shutting down forever"
    )
    stream.send(signal.SIGINT)
    assert stream.finish() == 130
    assert "WARNING Forcing exit" in stream.lines
    assert not wait_until_gone(pids)
