"""``stream run`` without typer: the quick reader agrees with typer, or leaves it to typer.

:mod:`stream.cli._quick_run` reads a plain one-process ``stream run`` itself, so a service
starts without importing typer. typer's command stays the definition: for every command
line below, the quick reading is either ``None`` or exactly the options typer builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.cli import _runner
from stream.cli._options import RunOptions
from stream.cli._quick_run import quick_run_options
from stream.cli.main import _run_app
from tests.cli.conftest import StartStream, WriteModule

READ_QUICKLY = [
    ["run", "svc:Service"],
    ["run", "--log-level", "DEBUG", "svc:Service"],
    ["run", "svc:Service", "--log-level=warning", "--broker-timeout", "2.5"],
    ["run", "svc:Service", "--bootstrap-servers", "h1:9092,h2:9092", "--app-dir", "sub"],
    ["run", "svc:Service", "--app-dir=sub", "--broker-timeout=0.1"],
]
LEFT_TO_TYPER = [
    ["run", "svc:Service", "--help"],
    ["run", "svc:Service", "--threshold", "0.7"],  # a setting
    ["run", "svc:Service", "--workers", "2"],
    ["run", "svc:Service", "--reload"],
    ["run", "svc:Service", "--log-level", "loud"],
    ["run", "svc:Service", "--broker-timeout", "0.05"],
    ["run", "svc:Service", "--broker-timeout", "1e1"],
    ["run", "svc:Service", "--app-dir", "missing"],
    ["run", "svc:Service", "--app-dir", "file.txt"],
    ["run", "svc:Service", "--log-level", "info", "--log-level", "debug"],
    ["run", "svc:Service", "--bootstrap-servers"],
    ["run", "svc:Service", "other:Service"],
    ["run", "--", "svc:Service"],
    ["run"],
    ["dev", "svc:Service"],
]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STREAM_KAFKA_BOOTSTRAP", raising=False)
    return tmp_path


def typer_options(arguments: list[str], monkeypatch: pytest.MonkeyPatch) -> RunOptions:
    seen: list[RunOptions] = []
    monkeypatch.setattr(_runner, "run", lambda options: seen.append(options) or 0)
    assert _run_app(arguments) == 0
    (options,) = seen
    return options


@pytest.mark.parametrize("arguments", READ_QUICKLY, ids=" ".join)
def test_the_quick_reading_is_typers(
    arguments: list[str], in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = quick_run_options(arguments)
    assert quick is not None
    assert quick == typer_options(arguments, monkeypatch)


@pytest.mark.parametrize("env", ["", "env-host:9092"])
def test_the_bootstrap_variable_is_read_as_typer_reads_it(
    env: str, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_KAFKA_BOOTSTRAP", env)
    arguments = ["run", "svc:Service"]
    assert quick_run_options(arguments) == typer_options(arguments, monkeypatch)


@pytest.mark.parametrize("arguments", LEFT_TO_TYPER, ids=" ".join)
def test_anything_else_is_left_to_typer(arguments: list[str], in_tmp: Path) -> None:
    assert quick_run_options(arguments) is None


def test_a_plain_run_starts_without_importing_typer(
    write_module: WriteModule, start_stream: StartStream
) -> None:
    write_module(
        "svc",
        """
        import sys
        from stream import core
        from stream.testing import MemoryBroker

        class Service(core.Service):
            broker = MemoryBroker()

            async def after_startup(self) -> None:
                self.logger.info("typer imported: %s", "typer" in sys.modules)
        """,
    )
    stream = start_stream(["run", "svc:Service"])
    stream.wait_for(r"typer imported: False$")
