"""``stream docs gen`` / ``serve``: the AsyncAPI document of a service, from the command line."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream.cli._app import app
from tests.cli.conftest import StartStream, WriteModule
from tests.cli.helpers import run_stream

SERVICE = """
    from pydantic import BaseModel
    from stream import core
    from stream.core import consume, produce
    from stream.testing import MemoryBroker

    class Data(BaseModel):
        data: float

    class Service(core.Service):
        broker = MemoryBroker()

        @produce("out")
        @consume("in")
        async def on_in(self, msg: Data) -> Data:
            return msg

    class Other(core.Service):
        @consume("elsewhere")
        async def on_elsewhere(self, msg: Data) -> None: ...
"""


def test_gen_writes_json_to_stdout(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", SERVICE)
    done = run_stream(["docs", "gen", "svc:Service", "--app-dir", str(tmp_path)])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["asyncapi"].startswith("3.")
    assert {"in", "out"} <= set(document["channels"])


@pytest.mark.parametrize(("name", "start"), [("api.yaml", "asyncapi: "), ("api.html", "<!")])
def test_gen_picks_the_format_from_the_file_name(
    tmp_path: Path, write_module: WriteModule, name: str, start: str
) -> None:
    write_module("svc", SERVICE)
    result = CliRunner().invoke(
        app, ["docs", "gen", "svc:Service", "-o", str(tmp_path / name), "--app-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).read_text().lstrip().lower().startswith(start.lower())


def test_gen_of_two_services_is_one_document(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", SERVICE)
    done = run_stream(
        ["docs", "gen", "svc:Service", "svc:Other", "--format", "json", "--app-dir", str(tmp_path)]
    )
    assert done.returncode == 0, done.stderr
    assert {"in", "out", "elsewhere"} <= set(json.loads(done.stdout)["channels"])


def test_gen_errors_are_one_line(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", SERVICE)
    done = run_stream(
        ["docs", "gen", "svc:Service", "--asyncapi-version", "1.0", "--app-dir", str(tmp_path)]
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: AsyncAPI 1.0 is not supported")
    assert len(done.stderr.splitlines()) == 1


def test_serve_answers_until_sigterm(
    tmp_path: Path, write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module("svc", SERVICE)
    stream = start_stream(
        ["docs", "serve", "svc:Service", "--port", "0", "--app-dir", str(tmp_path)]
    )
    url = stream.wait_for(r"AsyncAPI docs at (http://\S+/)").group(1)
    with urllib.request.urlopen(f"{url}asyncapi.json", timeout=10) as response:
        assert "in" in json.load(response)["channels"]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/html")
    stream.send(signal.SIGTERM)
    assert stream.finish() == 0
