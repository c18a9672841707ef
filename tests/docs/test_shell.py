"""The console examples of the documentation site: each command runs as shown.

The ``--help`` pages are compared whole (``STREAM_UPDATE_SNAPSHOTS=1`` rewrites them
from the real command); commands that need no broker run here; those that talk to
Kafka run under the ``kafka`` marker, against the ``kafka_bootstrap`` broker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docs.consoles import EXAMPLES, Command, Session, copy_examples, read_console

HELP_PAGES = sorted((EXAMPLES / "help").glob("*.console"))


@pytest.mark.parametrize("page", HELP_PAGES, ids=lambda path: path.stem)
def test_help_pages_are_what_the_command_prints(page: Path, tmp_path: Path) -> None:
    [command] = read_console(page)
    printed = Session(tmp_path).run(command)
    if os.environ.get("STREAM_UPDATE_SNAPSHOTS"):
        page.write_text("\n".join([f"$ {command.line}", *printed]) + "\n")
    assert list(command.shown) == printed


@pytest.mark.parametrize("page", ["thermo-docs", "calibrated-errors"])
def test_commands_without_a_broker(page: str, tmp_path: Path) -> None:
    session = Session(copy_examples(tmp_path))
    for command in read_console(EXAMPLES / f"{page}.console"):
        session.run(command)
    if page == "thermo-docs":
        assert (tmp_path / "asyncapi.yaml").read_text().startswith("asyncapi: 3.1.0")
        assert '"asyncapi": "3.0.0"' in (tmp_path / "asyncapi.json").read_text()
        assert (tmp_path / "asyncapi.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.kafka
def test_getting_started_run_then_publish(kafka_bootstrap: str, tmp_path: Path) -> None:
    session = Session(copy_examples(tmp_path), kafka_bootstrap)
    [run] = read_console(EXAMPLES / "thermo-run.console")
    *startup, handled = run.shown
    serving = session.start(run)
    try:
        serving.wait_for(*startup)
        for command in read_console(EXAMPLES / "thermo-publish.console"):
            session.run(command)
        serving.wait_for(handled)
    finally:
        assert serving.stop() == 0


@pytest.mark.kafka
@pytest.mark.parametrize("page", ["thermo-dev", "calibrated-run"])
def test_services_start_as_shown(page: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    session = Session(copy_examples(tmp_path), kafka_bootstrap)
    for command in read_console(EXAMPLES / f"{page}.console"):
        serving = session.start(command)
        try:
            serving.wait_for_shown()
        finally:
            assert serving.stop() == 0


@pytest.mark.kafka
def test_publishing_raw_json_and_lines_of_stdin(kafka_bootstrap: str, tmp_path: Path) -> None:
    session = Session(copy_examples(tmp_path), kafka_bootstrap)
    for command in read_console(EXAMPLES / "publish-raw.console"):
        session.run(command)


def test_every_console_example_is_run_here() -> None:
    run_here = {"thermo-docs", "calibrated-errors", "thermo-run", "thermo-publish"}
    run_here |= {"thermo-dev", "calibrated-run", "publish-raw"}
    assert {path.stem for path in EXAMPLES.glob("*.console")} == run_here


def test_consoles_parse() -> None:
    commands = read_console(EXAMPLES / "calibrated-errors.console")
    assert all(isinstance(c, Command) and c.fails and not c.serves for c in commands)
    assert read_console(EXAMPLES / "thermo-run.console")[0].serves
