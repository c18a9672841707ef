"""A mistake the user can fix is one ``error:`` line on stderr and a non-zero exit.

Each case runs the real ``stream`` entry point in a subprocess: what a user sees.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import WriteModule
from tests.cli.helpers import run_stream, stream_command

MEMORY_SERVICE = """
    from pydantic import BaseModel
    from stream import core
    from stream.core import consume
    from stream.testing import MemoryBroker

    class Data(BaseModel):
        data: float

    class Service(core.Service):
        broker = MemoryBroker()

        @consume("in")
        async def on_in(self, msg: Data) -> None: ...

    instance = Service()
    not_a_service = Data(data=1.0)
"""


def one_error_line(
    args: list[str],
    tmp_path: Path,
    stdin: str | None = None,
    *,
    after_logs: bool = False,
    env: dict[str, str] | None = None,
) -> str:
    """The one line a failing ``stream`` printed; with ``after_logs``, the service's log
    lines may come before it (the error came after the service began to start)."""
    done = run_stream([*args, "--app-dir", str(tmp_path)], cwd=tmp_path, stdin=stdin, env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    if after_logs:
        assert all(line.startswith("INFO ") for line in lines[:-1]), done.stderr
    else:
        assert len(lines) == 1, done.stderr
    assert lines[-1].startswith("error: ")
    return lines[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_module_that_does_not_exist(tmp_path: Path) -> None:
    line = one_error_line(["run", "no_such_module:Service"], tmp_path)
    assert "cannot import 'no_such_module': no module named 'no_such_module'" in line
    assert str(tmp_path) in line and "--app-dir" in line


def test_attribute_that_does_not_exist(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", MEMORY_SERVICE)
    line = one_error_line(["run", "svc:Servce"], tmp_path)
    assert "module 'svc' has no attribute 'Servce'" in line
    assert "svc:Service" in line and "svc:instance" in line  # what it could have meant


@pytest.mark.parametrize(
    ("attribute", "described"),
    [("Data", "the class Data"), ("not_a_service", "a Data"), ("core", "the module stream.core")],
)
def test_attribute_that_is_not_a_service(
    tmp_path: Path, write_module: WriteModule, attribute: str, described: str
) -> None:
    write_module("svc", MEMORY_SERVICE)
    line = one_error_line(["run", f"svc:{attribute}"], tmp_path)
    assert f"svc:{attribute} is {described}, not a stream Service" in line


def test_target_without_colon(tmp_path: Path) -> None:
    line = one_error_line(["run", "svc.Service"], tmp_path)
    assert "'svc.Service' is not MODULE:ATTR" in line


def test_syntax_error_shows_file_and_line(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("broken", "from stream import core\n\ndef oops(:\n    pass\n")
    line = one_error_line(["run", "broken:Service"], tmp_path)
    assert f"syntax error in {tmp_path / 'broken.py'}, line 3" in line


def test_error_while_importing_shows_where(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("raises", "import os\nSETTING = int(os.environ.get('NOPE', 'x'))\n")
    line = one_error_line(["run", "raises:Service"], tmp_path)
    assert "importing 'raises' raised ValueError" in line
    assert f"{tmp_path / 'raises.py'}, line 2" in line


def test_missing_dependency_of_the_module(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("needs", "import not_installed_anywhere\n")
    line = one_error_line(["run", "needs:Service"], tmp_path)
    assert "No module named 'not_installed_anywhere'" in line
    assert "is a dependency missing?" in line


def test_handler_bind_error_is_printed(tmp_path: Path, write_module: WriteModule) -> None:
    write_module(
        "unbound",
        """
        from stream import core
        from stream.core import consume
        from stream.testing import MemoryBroker

        class Service(core.Service):
            broker = MemoryBroker()

            @consume("in")
            async def on_in(self, msg): ...
        """,
    )
    line = one_error_line(["run", "unbound:Service"], tmp_path)
    assert "Service.on_in: parameter `msg` has no type annotation" in line


def test_failing_startup_hook(tmp_path: Path, write_module: WriteModule) -> None:
    write_module(
        "hook",
        MEMORY_SERVICE
        + """
    class Failing(Service):
        async def on_startup(self) -> None:
            raise RuntimeError("database is down")
    """,
    )
    line = one_error_line(["run", "hook:Failing"], tmp_path, after_logs=True)
    assert "Failing.on_startup raised RuntimeError: database is down" in line


def test_service_without_broker(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("nobroker", "from stream import core\nclass Service(core.Service): pass\n")
    line = one_error_line(["run", "nobroker:Service"], tmp_path)
    assert "Service has no broker" in line and "--bootstrap-servers" in line


def test_bootstrap_servers_for_a_broker_without_address(
    tmp_path: Path, write_module: WriteModule
) -> None:
    write_module("svc", MEMORY_SERVICE)
    line = one_error_line(["run", "svc:Service", "--bootstrap-servers", "h:1"], tmp_path)
    assert "Service's broker (MemoryBroker) has no address to change" in line


def test_broker_that_does_not_answer_within_the_timeout(
    tmp_path: Path, write_module: WriteModule
) -> None:
    port = free_port()
    write_module(
        "kafkasvc",
        f"""
        from pydantic import BaseModel
        from stream import core
        from stream.core import consume
        from stream.kafka import KafkaBroker

        class Data(BaseModel):
            data: float

        class Service(core.Service):
            broker = KafkaBroker("127.0.0.1:{port}")

            @consume("in")
            async def on_in(self, msg: Data) -> None: ...
        """,
    )
    started = time.monotonic()
    line = one_error_line(["run", "kafkasvc:Service", "--broker-timeout", "2"], tmp_path)
    assert time.monotonic() - started < 15
    assert f"no broker answered at 127.0.0.1:{port} within 2 s" in line
    assert "`stream dev kafkasvc:Service`" in line
    assert f"`python -m stream.kafka_local --port {port}`" in line


def test_unknown_setting(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", MEMORY_SERVICE)
    line = one_error_line(["run", "svc:Service", "--threshold", "3"], tmp_path)
    assert "unknown option --threshold: svc:Service takes no settings" in line


def test_ill_typed_setting(tmp_path: Path, write_module: WriteModule) -> None:
    write_module(
        "configured",
        MEMORY_SERVICE
        + """
    class Settings(BaseModel):
        threshold: float = 0.5

    class WithSettings(Service):
        settings: Settings
    """,
    )
    line = one_error_line(["run", "configured:WithSettings", "--threshold", "high"], tmp_path)
    assert "invalid --threshold 'high': Input should be a valid number" in line


def test_a_secret_setting_is_never_printed(tmp_path: Path, write_module: WriteModule) -> None:
    write_module(
        "secretive",
        MEMORY_SERVICE
        + """
    from pydantic import Field, SecretStr
    from pydantic_settings import BaseSettings

    class Settings(BaseSettings):
        db_password: SecretStr = Field(min_length=8)

    class WithSecret(Service):
        settings: Settings
    """,
    )
    line = one_error_line(["run", "secretive:WithSecret"], tmp_path, env={"DB_PASSWORD": "envpw"})
    assert "envpw" not in line
    assert "secret from the environment variable DB_PASSWORD, not shown" in line
    line = one_error_line(["run", "secretive:WithSecret", "--db-password", "hunter2"], tmp_path)
    assert "hunter2" not in line
    assert "invalid --db-password (secret from --db-password, not shown)" in line


def test_publish_checks_the_message_against_the_consumer_model(
    tmp_path: Path, write_module: WriteModule
) -> None:
    write_module("svc", MEMORY_SERVICE)
    line = one_error_line(["publish", "svc:Service", "in", '{"data": "lots"}'], tmp_path)
    assert "the message does not fit Data, the model of Service.on_in" in line
    assert "data: Input should be a valid number" in line


def test_publish_reports_the_bad_stdin_line(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", MEMORY_SERVICE)
    stdin = '{"data": 1}\n\n{"data": 2}\n{"data": null}\n'
    line = one_error_line(["publish", "svc:Service", "in", "-"], tmp_path, stdin=stdin)
    assert line.startswith("error: stdin line 4: the message does not fit Data")
    assert "(2 earlier message(s) were sent)" in line


def test_publish_without_service_needs_an_address(tmp_path: Path) -> None:
    line = one_error_line(["publish", "topic", "{}"], tmp_path)
    assert "give MODULE:ATTR of a service, or --bootstrap-servers" in line


def test_publish_without_service_needs_json(tmp_path: Path) -> None:
    line = one_error_line(
        ["publish", "topic", "not json", "--bootstrap-servers", f"127.0.0.1:{free_port()}"],
        tmp_path,
    )
    assert "no broker answered" in line or "MESSAGE is not JSON" in line


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_publish_refuses_what_only_python_calls_json(
    tmp_path: Path, write_module: WriteModule, constant: str
) -> None:
    write_module("svc", MEMORY_SERVICE)
    # No handler consumes "elsewhere": each line only has to be JSON.
    stdin = f'{{"data": 1}}\n{{"data": {constant}}}\n'
    line = one_error_line(["publish", "svc:Service", "elsewhere", "-"], tmp_path, stdin=stdin)
    assert line.startswith(f"error: stdin line 2: MESSAGE is not JSON: {constant} is not a")
    assert "(1 earlier message(s) were sent)" in line
    # A consumer's model would take NaN for a float, but the bytes would not be JSON.
    line = one_error_line(["publish", "svc:Service", "in", f'{{"data": {constant}}}'], tmp_path)
    assert f"MESSAGE is not JSON: {constant} is not a" in line


def test_publish_without_service_checks_the_message_before_the_broker(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens: it must not come to asking
    line = one_error_line(["publish", "topic", "NaN", "--bootstrap-servers", address], tmp_path)
    assert line.startswith("error: MESSAGE is not JSON: NaN is not a")


def test_publish_of_deeply_nested_json_is_one_clear_line(
    tmp_path: Path, write_module: WriteModule
) -> None:
    write_module("svc", MEMORY_SERVICE)
    deep = "[" * 100_000 + "]" * 100_000
    stdin = f'{{"data": 1}}\n{deep}\n'
    line = one_error_line(["publish", "svc:Service", "elsewhere", "-"], tmp_path, stdin=stdin)
    assert line.startswith("error: stdin line 2: MESSAGE is nested too deeply")
    assert "RecursionError" not in line
    address = f"127.0.0.1:{free_port()}"
    line = one_error_line(
        ["publish", "topic", "[" * 100_000, "--bootstrap-servers", address], tmp_path
    )
    assert line.startswith("error: MESSAGE is nested too deeply")


def test_publish_of_a_line_that_is_not_utf8(tmp_path: Path, write_module: WriteModule) -> None:
    write_module("svc", MEMORY_SERVICE)
    done = subprocess.run(
        [*stream_command(), "publish", "svc:Service", "elsewhere", "-", "--app-dir", str(tmp_path)],
        cwd=tmp_path,
        # Strict, as stdin is under most UTF-8 locales (C.UTF-8 would be lenient).
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        input=b'{"data": 1}\n"caf\xe9"\n',
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "error: stdin line 2: MESSAGE is not UTF-8 text (1 earlier message(s) were sent)"
    ]
