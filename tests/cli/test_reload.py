"""``stream run --reload``: a changed file restarts the service; a broken one waits for a fix."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

from tests.cli.conftest import StartStream
from tests.cli.helpers import stream_children, wait_until_gone

SERVICE = """
    from stream import core
    from stream.core import consume
    from stream.testing import MemoryBroker

    VERSION = {version}

    class Service(core.Service):
        broker = MemoryBroker()

        @consume("in")
        async def on_in(self, msg: int) -> None: ...

        async def after_startup(self) -> None:
            self.logger.info("version %s", VERSION)
"""


def write(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def test_reload_restarts_on_change_and_waits_out_a_broken_edit(
    tmp_path: Path, start_stream: StartStream
) -> None:
    module = tmp_path / "svc.py"
    write(module, SERVICE.format(version=1))
    stream = start_stream(["run", "svc:Service", "--reload", "--app-dir", str(tmp_path)])
    stream.wait_for(rf"Watching {tmp_path}")
    stream.wait_for("version 1")
    stream.wait_for(r"Service started")
    (child,) = stream_children(stream.proc.pid)

    write(module, SERVICE.format(version=2))
    stream.wait_for(r"Changes in svc\.py; restarting")
    stream.wait_for("Service stopped")  # the old one stops gracefully
    stream.wait_for("version 2")
    assert not wait_until_gone([child])

    write(module, "class Service(:\n")
    stream.wait_for(rf"error: syntax error in {module}, line 1")
    stream.wait_for(r"The service exited with code 1; fix it and save to restart")

    write(module, SERVICE.format(version=3))
    stream.wait_for("version 3")
    stream.wait_for("Service started")
    stream.send(signal.SIGINT)
    assert stream.finish() == 0
    assert stream.lines[-1] == "INFO  Service stopped"
