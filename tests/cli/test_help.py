"""What ``stream --help`` and each command's help say, and ``stream --version``."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

import pytest
from typer.testing import CliRunner

from stream.cli._app import app
from stream.cli.main import main
from tests.cli.helpers import run_stream

runner = CliRunner()


def help_of(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], prog_name="stream")
    assert result.exit_code == 0, result.output
    # Wrapped help breaks lines anywhere; compare words.
    return " ".join(result.output.split())


def test_root_help_lists_every_command() -> None:
    text = help_of()
    assert "Usage: stream [OPTIONS] COMMAND [ARGS]..." in text
    for command in ("run", "dev", "publish", "docs"):
        assert re.search(rf"\b{command}\b", text)
    assert "--version" in text


def test_no_arguments_prints_the_help() -> None:
    result = runner.invoke(app, [], prog_name="stream")
    assert result.exit_code == 0
    assert "Commands:" in result.output


def test_run_help_documents_every_option_and_settings() -> None:
    text = help_of("run")
    assert "Usage: stream run [OPTIONS] {MODULE:ATTR}" in text
    for option in (
        "--log-level",
        "--bootstrap-servers",
        "STREAM_KAFKA_BOOTSTRAP",
        "--workers",
        "--reload",
        "--app-dir",
        "--broker-timeout",
    ):
        assert option in text
    assert "second CTRL+C" in text
    assert "settings" in text and "self.settings" in text


def test_dev_help_says_it_starts_a_local_kafka() -> None:
    text = help_of("dev")
    assert "Usage: stream dev [OPTIONS] {MODULE:ATTR}" in text
    assert "local single-node Apache Kafka" in text
    assert "--workers" not in text  # dev reloads one process


def test_publish_help_shows_the_optional_service() -> None:
    text = help_of("publish")
    assert "Usage: stream publish [OPTIONS] [MODULE:ATTR] TOPIC MESSAGE" in text
    for option in ("--key", "--header NAME=VALUE", "--partition", "--bootstrap-servers"):
        assert option in text
    assert "- to send each line of stdin" in text


def test_docs_help_lists_gen_and_serve() -> None:
    text = help_of("docs")
    assert "gen Write the AsyncAPI document: JSON, YAML or HTML." in text
    assert "serve Serve the AsyncAPI page over HTTP." in text
    gen = help_of("docs", "gen")
    assert "Usage: stream docs gen [OPTIONS] {MODULE:ATTR}..." in gen
    for option in ("--output", "--format <json|yaml|html>", "--asyncapi-version", "--app-dir"):
        assert option in gen
    serve = help_of("docs", "serve")
    for option in ("--host", "--port", "/asyncapi.json"):
        assert option in serve


def test_version_lists_installed_stream_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"stream-cli {metadata.version('stream-cli')}" in lines
    assert f"stream-core {metadata.version('stream-core')}" in lines
    assert lines[-1].startswith("Python 3.")


def test_version_through_typer_matches_the_fast_path() -> None:
    result = runner.invoke(app, ["--version"], prog_name="stream")
    assert result.exit_code == 0
    assert "stream-cli " in result.output


def test_version_from_the_real_entry_point() -> None:
    done = run_stream(["--version"])
    assert done.returncode == 0
    assert "stream-cli " in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "Missing argument 'MODULE:ATTR'"),
        (["run", "a:B", "--workers", "zero"], "Invalid value for '--workers'"),
        (["run", "a:B", "--workers", "0"], "Invalid value for '--workers'"),
        (["run", "a:B", "--log-level", "loud"], "Invalid value for '--log-level'"),
        (["run", "a:B", "--reload", "--workers", "2"], "--reload restarts one process"),
        (["run", "a:B", "--app-dir", "/no/such/dir"], "Invalid value for '--app-dir'"),
        (["publish", "--partition", "-1", "t", "{}"], "Invalid value for '--partition'"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_a_bad_command_line_is_one_error_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def imported_by(code: str) -> set[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code``."""
    heavy = (
        "typer",
        "pydantic",
        "stream.core",
        "anyio",
        "aiokafka",
        "watchfiles",
        "stream.asyncapi",
    )
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_version_imports_neither_typer_nor_any_stream_package() -> None:
    code = "import contextlib, io\nfrom stream.cli.main import main\n"
    code += "with contextlib.redirect_stdout(io.StringIO()): main(['--version'])"
    assert imported_by(code) == set()


def test_the_app_imports_only_typer_until_a_command_runs() -> None:
    assert imported_by("import stream.cli._app") == {"typer"}
