"""CTRL+C on ``uv run stream run --reload`` (what ``scripts/demo.sh`` runs) as a terminal sends it.

The terminal sends SIGINT to its whole foreground process group: here ``uv`` and the
reload supervisor (the service child has a group of its own). When uv's standard input
is not a terminal (an IDE's run window, a pipe, CI) uv cannot tell that its child got the
SIGINT too, and relays it 200 ms later: one CTRL+C reaches the supervisor twice. It must
still read as one clean stop; a second CTRL+C still forces the exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import WriteModule
from tests.cli.helpers import StreamProcess, stream_children, wait_until_gone

SERVICE = """
    import anyio
    from stream import core
    from stream.core import consume
    from stream.testing import MemoryBroker

    class Service(core.Service):
        broker = MemoryBroker()

        @consume("in")
        async def on_in(self, msg: int) -> None: ...

    class Stuck(Service):
        async def on_shutdown(self) -> None:
            self.logger.info("shutting down forever")
            await anyio.sleep_forever()
"""

StartBehindUv = Callable[[list[str]], StreamProcess]


@pytest.fixture
def start_behind_uv(tmp_path: Path) -> Iterator[StartBehindUv]:
    """Starts ``uv run stream ARGS`` in a process group of its own, stdin not a terminal."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is missing; scripts/check.sh installs it (python3 -m pip install uv)")
    started: list[StreamProcess] = []

    def start(args: list[str]) -> StreamProcess:
        process = StreamProcess(
            args, cwd=tmp_path, launcher=[uv, "run", "--no-project"], own_group=True
        )
        started.append(process)
        return process

    yield start
    for process in started:
        # The service child has a group of its own, and a Stuck one outlives the SIGTERM
        # its supervisor's death sends it: kill it first, or it holds the output pipe open.
        for pid in _descendants(process.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()


def press_ctrl_c(stream: StreamProcess) -> None:
    """What the terminal does on CTRL+C: SIGINT to every process of the foreground group."""
    os.killpg(stream.proc.pid, signal.SIGINT)


def test_one_ctrl_c_stops_the_reloader_cleanly_behind_uv(
    tmp_path: Path, write_module: WriteModule, start_behind_uv: StartBehindUv
) -> None:
    write_module("svc", SERVICE)
    stream = start_behind_uv(["run", "svc:Service", "--reload", "--app-dir", str(tmp_path)])
    stream.wait_for("Service started")
    (child,) = stream_children(_supervisor(stream))

    press_ctrl_c(stream)
    assert stream.finish() == 0, stream.output
    assert "Forcing exit" not in stream.output
    assert stream.lines[-1] == "INFO  Service stopped"
    assert not wait_until_gone([child])


def test_a_second_ctrl_c_still_forces_the_reloader_behind_uv(
    tmp_path: Path, write_module: WriteModule, start_behind_uv: StartBehindUv
) -> None:
    write_module("svc", SERVICE)
    stream = start_behind_uv(["run", "svc:Stuck", "--reload", "--app-dir", str(tmp_path)])
    stream.wait_for("Stuck started")
    (child,) = stream_children(_supervisor(stream))

    press_ctrl_c(stream)
    stream.wait_for("shutting down forever")
    press_ctrl_c(stream)
    assert stream.finish() == 130, stream.output
    assert "WARNING Forcing exit" in stream.lines
    assert not wait_until_gone([child])


def test_one_ctrl_c_stops_workers_cleanly_behind_uv(
    write_module: WriteModule, start_behind_uv: StartBehindUv
) -> None:
    write_module("svc", SERVICE)
    stream = start_behind_uv(["run", "svc:Service", "--workers", "2"])
    stream.wait_for_all(r"\[worker 1\] Service started", r"\[worker 2\] Service started")

    press_ctrl_c(stream)
    assert stream.finish() == 0, stream.output
    assert "Forcing exit" not in stream.output
    assert stream.output.count("Service stopped") == 2


def _supervisor(stream: StreamProcess) -> int:
    """The pid of the ``stream`` supervisor, uv's one child."""
    (supervisor,) = _children(stream.proc.pid)
    return supervisor


def _children(pid: int) -> set[int]:
    """``pid``'s children, from every thread (uv may spawn from any)."""
    try:
        return {
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        }
    except FileNotFoundError:
        return set()


def _descendants(pid: int) -> set[int]:
    found = _children(pid)
    for child in list(found):
        found |= _descendants(child)
    return found
