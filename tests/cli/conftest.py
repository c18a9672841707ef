"""Fixtures of the CLI tests: the real ``stream`` in subprocesses, service modules in tmp_path."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.cli.helpers import StreamProcess

_PACKAGES = Path(__file__).resolve().parents[2] / "packages"
WriteModule = Callable[[str, str], str]
StartStream = Callable[..., StreamProcess]


@pytest.fixture(autouse=True)
def isolated_imports() -> Iterator[None]:
    """Forgets the modules an in-process test imported from its tmp_path (and its sys.path)."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        # stream's own modules and installed ones stay: a second copy of a module the
        # CLI imports lazily would hold classes the first copy's users do not know.
        if not _installed(sys.modules[name]):
            del sys.modules[name]


def _installed(module: object) -> bool:
    file = getattr(module, "__file__", None) or ""
    return file.startswith((sys.prefix, str(_PACKAGES)))


@pytest.fixture
def uid() -> str:
    """A fresh suffix for topic and group names, so tests never share Kafka state."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def write_module(tmp_path: Path) -> WriteModule:
    """Writes ``source`` as ``tmp_path/<name>.py``; returns the module name (use --app-dir)."""

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return name

    return write


@pytest.fixture
def start_stream(tmp_path: Path) -> Iterator[StartStream]:
    """Starts ``stream ARGS`` in tmp_path; every process still running at teardown is killed."""
    started: list[StreamProcess] = []

    def start(args: Sequence[str], env: dict[str, str] | None = None) -> StreamProcess:
        process = StreamProcess(args, cwd=tmp_path, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
