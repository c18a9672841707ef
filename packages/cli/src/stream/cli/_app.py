"""The ``stream`` command's typer app: commands, options and their help.

Each command imports what it needs when it runs, so ``stream --help`` loads typer and
nothing heavier.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from stream.cli._brokers import BOOTSTRAP_ENV
from stream.cli._options import RunOptions

__all__ = (
    "DocsFormat",
    "LogFormat",
    "LogLevel",
    "PublishCommand",
    "app",
    "dev",
    "docs",
    "docs_gen",
    "docs_serve",
    "offsets",
    "offsets_reset",
    "offsets_show",
    "publish",
    "run",
)


class LogLevel(StrEnum):
    """The values of ``--log-level``."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


class LogFormat(StrEnum):
    """The values of ``--log-format``."""

    text = "text"
    json = "json"


class PublishCommand(TyperCommand):
    """``stream publish``, whose usage line shows its optional leading argument."""

    def collect_usage_pieces(self, ctx: object) -> list[str]:
        """``[OPTIONS] [MODULE:ATTR] TOPIC MESSAGE``: typer would show one list argument."""
        return ["[OPTIONS]", "[MODULE:ATTR]", "TOPIC", "MESSAGE"]


_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}

_SETTINGS_EPILOG = (
    "Other options after MODULE:ATTR (--name value) are the service's settings: annotate "
    "`settings: YourSettings` (a pydantic BaseModel or pydantic-settings BaseSettings) on "
    "the service class and read self.settings. A dash in the option is an underscore in "
    "the field."
)

app = typer.Typer(
    name="stream",
    help="Run, develop and talk to stream services on Apache Kafka.",
    epilog="Run `stream COMMAND --help` for a command's options.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_Target = Annotated[
    str,
    typer.Argument(
        metavar="MODULE:ATTR",
        help="The service: a Service subclass or instance, e.g. demo.app:Service.",
        show_default=False,
    ),
]
_LogLevelOption = Annotated[
    LogLevel, typer.Option("--log-level", case_sensitive=False, help="Lowest level logged.")
]
_BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        envvar=BOOTSTRAP_ENV,
        metavar="HOST:PORT[,...]",
        help="Kafka address, overriding the service broker's.",
        show_default=False,
    ),
]
_AppDirOption = Annotated[
    Path,
    typer.Option(
        "--app-dir",
        file_okay=False,
        exists=True,
        help="Folder to import MODULE from (put first on sys.path).",
    ),
]
_BrokerTimeoutOption = Annotated[
    float,
    typer.Option(
        "--broker-timeout",
        min=0.1,
        metavar="SECONDS",
        help="How long to wait for the broker to answer before giving up.",
    ),
]


def _check_http(value: str | None) -> str | None:
    if value is not None:
        from stream.cli._errors import CliError
        from stream.cli._http import parse_address

        try:
            parse_address(value)
        except CliError as error:
            raise typer.BadParameter(str(error).removeprefix(f"--http {value!r}: ")) from None
    return value


_HttpOption = Annotated[
    str | None,
    typer.Option(
        "--http",
        metavar="HOST:PORT",
        callback=_check_http,
        help="Serve /live, /ready and /metrics on HOST:PORT (needs stream-cli[http]; "
        "/metrics needs stream-prometheus).",
        show_default=False,
    ),
]
_LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        case_sensitive=False,
        help="text, or json: one object a line with the handler, topic, partition and "
        "offset of the message being handled.",
    ),
]
_LogConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--log-config",
        dir_okay=False,
        exists=True,
        metavar="FILE",
        help="A logging.config.dictConfig file, JSON or YAML (.yaml/.yml); it replaces "
        "--log-level and --log-format.",
        show_default=False,
    ),
]


def _show_version(value: bool) -> None:
    if value:
        from stream.cli._version import version_text

        typer.echo(version_text())
        raise typer.Exit


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_show_version,
            help="Print the version of each installed stream package and exit.",
        ),
    ] = False,
) -> None:
    """Run, develop and talk to stream services on Apache Kafka."""
    _help_without_command(ctx)


def _help_without_command(ctx: typer.Context) -> None:
    # typer's no_args_is_help reports the help as a usage error (exit 2); it is not one.
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit


@app.command(context_settings=_EXTRA, epilog=_SETTINGS_EPILOG)
def run(
    ctx: typer.Context,
    target: _Target,
    log_level: _LogLevelOption = LogLevel.info,
    bootstrap_servers: _BootstrapOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="Run N processes in one consumer group, so partitions spread over them. "
            "A worker that dies is reported; the others keep going and the command exits "
            "non-zero. With --http, worker i serves on PORT+i-1.",
        ),
    ] = 1,
    reload: Annotated[
        bool,
        typer.Option("--reload", help="Restart when a .py file changes (not with --workers)."),
    ] = False,
    app_dir: _AppDirOption = Path(),
    broker_timeout: _BrokerTimeoutOption = 10.0,
    http: _HttpOption = None,
    log_format: _LogFormatOption = LogFormat.text,
    log_config: _LogConfigOption = None,
) -> int:
    """Run a service until CTRL+C or SIGTERM.

    The first CTRL+C (or SIGTERM) stops gracefully: handlers in flight finish, their
    outputs are sent and offsets committed. A second CTRL+C exits at once.
    """
    if reload and workers > 1:
        raise typer.BadParameter(
            "--reload restarts one process; drop it or --workers", param_hint="'--reload'"
        )
    options = replace(
        _run_options(ctx, target, log_level, bootstrap_servers, app_dir, broker_timeout),
        http=http,
        log_format=log_format.value,
        log_config=log_config,
    )
    if reload:
        from stream.cli._logs import configure_run_logging
        from stream.cli._reload import run_with_reload

        configure_run_logging(
            options.log_level, log_format=options.log_format, log_config=options.log_config
        )
        return run_with_reload(options)
    if workers > 1:
        from stream.cli._workers import run_workers

        return run_workers(options, workers)
    from stream.cli._runner import run as run_service

    return run_service(options)


@app.command(context_settings=_EXTRA, epilog=_SETTINGS_EPILOG)
def dev(
    ctx: typer.Context,
    target: _Target,
    log_level: _LogLevelOption = LogLevel.info,
    bootstrap_servers: _BootstrapOption = None,
    app_dir: _AppDirOption = Path(),
    broker_timeout: _BrokerTimeoutOption = 10.0,
    http: _HttpOption = None,
    log_format: _LogFormatOption = LogFormat.text,
) -> int:
    """Run a service for development: `run --reload`, with a broker.

    When no broker answers at the service's address, a local single-node Apache Kafka
    is started (it needs Java 17+ and Maven; the first run downloads Kafka) and stopped
    on exit: on that port when the address is on this machine and the port is free,
    else on a free port.
    """
    from stream.cli._dev import run_dev

    options = _run_options(ctx, target, log_level, bootstrap_servers, app_dir, broker_timeout)
    return run_dev(replace(options, http=http, log_format=log_format.value))


@app.command(cls=PublishCommand)
def publish(
    arguments: Annotated[
        list[str], typer.Argument(metavar="[MODULE:ATTR] TOPIC MESSAGE", hidden=True)
    ],
    key: Annotated[
        str | None, typer.Option("--key", help="The key of every message.", show_default=False)
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            metavar="NAME=VALUE",
            help="A header of every message; repeat for more.",
            show_default=False,
        ),
    ] = None,
    partition: Annotated[
        int | None,
        typer.Option(
            "--partition", min=0, help="Send to this partition, not the key's.", show_default=False
        ),
    ] = None,
    bootstrap_servers: _BootstrapOption = None,
    app_dir: _AppDirOption = Path(),
    broker_timeout: _BrokerTimeoutOption = 10.0,
) -> int:
    """Publish JSON messages to TOPIC.

    MESSAGE is one JSON document (quote it for the shell), or - to send each line of
    stdin as a message. With MODULE:ATTR, the service's broker is used and each message
    is checked against the model of the service's handler consuming TOPIC. Without it,
    give the broker with --bootstrap-servers (or STREAM_KAFKA_BOOTSTRAP).
    """
    from stream.cli._publish import PublishOptions, parse_headers, split_arguments
    from stream.cli._publish import publish as send

    target, topic, message = split_arguments(arguments)
    options = PublishOptions(
        target=target,
        topic=topic,
        message=message,
        key=key,
        headers=parse_headers(header or ()),
        partition=partition,
        bootstrap_servers=bootstrap_servers,
        app_dir=app_dir,
        broker_timeout=broker_timeout,
    )
    return send(options)


docs = typer.Typer(
    name="docs",
    help="AsyncAPI documentation of services: write it, or serve it as a web page.",
    rich_markup_mode=None,
)
app.add_typer(docs)


@docs.callback(invoke_without_command=True)
def _docs(ctx: typer.Context) -> None:
    """AsyncAPI documentation of services: write it, or serve it as a web page."""
    _help_without_command(ctx)


_Targets = Annotated[
    list[str],
    typer.Argument(
        metavar="MODULE:ATTR",
        help="One or more services (classes or instances); several make one document.",
        show_default=False,
    ),
]
_AsyncApiVersionOption = Annotated[
    str | None,
    typer.Option(
        "--asyncapi-version",
        metavar="VERSION",
        help="AsyncAPI version of the document, e.g. 3.0.0 (default: the newest supported).",
        show_default=False,
    ),
]


class DocsFormat(StrEnum):
    """The values of ``stream docs gen --format``."""

    json = "json"
    yaml = "yaml"
    html = "html"


@docs.command("gen")
def docs_gen(
    targets: _Targets,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Write to this file instead of stdout; .json, .yaml or .html picks the format.",
            show_default=False,
        ),
    ] = None,
    form: Annotated[
        DocsFormat | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="json, yaml, or a self-contained html page (default: from --output, else json).",
            show_default=False,
        ),
    ] = None,
    asyncapi_version: _AsyncApiVersionOption = None,
    app_dir: _AppDirOption = Path(),
) -> int:
    """Write the AsyncAPI document: JSON, YAML or HTML.

    Several services make one document. Without --output it goes to stdout.
    """
    from stream.cli._docs import format_for, generate

    chosen = format_for(output, form.value if form is not None else None)
    return generate(targets, app_dir, output, chosen, asyncapi_version)


@docs.command("serve")
def docs_serve(
    targets: _Targets,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks one.")
    ] = 8000,
    asyncapi_version: _AsyncApiVersionOption = None,
    app_dir: _AppDirOption = Path(),
) -> int:
    """Serve the AsyncAPI page over HTTP.

    The page is at /, the document at /asyncapi.json and /asyncapi.yaml. CTRL+C stops.
    """
    from stream.cli._docs import serve_docs
    from stream.cli._logs import configure_logging

    configure_logging("info")
    return serve_docs(targets, app_dir, host, port, asyncapi_version)


offsets = typer.Typer(
    name="offsets",
    help="Show or reset the consumer group offsets of a service's handlers.",
    rich_markup_mode=None,
)
app.add_typer(offsets)


@offsets.callback(invoke_without_command=True)
def _offsets(ctx: typer.Context) -> None:
    """Show or reset the consumer group offsets of a service's handlers."""
    _help_without_command(ctx)


_HandlerOption = Annotated[
    str | None,
    typer.Option(
        "--handler",
        metavar="NAME",
        help="Only this handler's group (the method's name).",
        show_default=False,
    ),
]


@offsets.command("show")
def offsets_show(
    target: _Target,
    handler: _HandlerOption = None,
    bootstrap_servers: _BootstrapOption = None,
    app_dir: _AppDirOption = Path(),
    broker_timeout: _BrokerTimeoutOption = 10.0,
) -> int:
    """Show each handler's group: committed, end and lag.

    Per partition of the topics of each consuming handler's consumer group. A partition without a committed offset shows - (the group starts there from its
    auto_offset_reset).
    """
    from stream.cli._offsets import OffsetsOptions, show

    return show(
        OffsetsOptions(
            target=target,
            handler=handler,
            bootstrap_servers=bootstrap_servers,
            app_dir=app_dir,
            broker_timeout=broker_timeout,
        )
    )


@offsets.command("reset")
def offsets_reset(
    target: _Target,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="WHERE",
            help="earliest, latest, an offset (e.g. 42, kept within each partition), or an "
            "ISO 8601 time with its zone (e.g. 2026-11-30T12:00:00Z): the first message at "
            "or after it.",
            show_default=False,
        ),
    ],
    handler: _HandlerOption = None,
    execute: Annotated[
        bool,
        typer.Option(
            "--execute/--dry-run",
            help="Commit the new offsets; without it, only print the plan.",
        ),
    ] = False,
    bootstrap_servers: _BootstrapOption = None,
    app_dir: _AppDirOption = Path(),
    broker_timeout: _BrokerTimeoutOption = 10.0,
) -> int:
    """Move a handler's group, to replay or skip messages.

    Prints the plan (partition, committed, new) and changes nothing unless --execute is
    given, as Kafka's own kafka-consumer-groups.sh does. Refused while the group has
    members: stop every instance of the service first. --handler is needed when the
    service has several consuming handlers.
    """
    from stream.cli._offsets import OffsetsOptions, parse_reset_to, reset

    options = OffsetsOptions(
        target=target,
        handler=handler,
        bootstrap_servers=bootstrap_servers,
        app_dir=app_dir,
        broker_timeout=broker_timeout,
    )
    return reset(options, parse_reset_to(to), execute=execute)


def _run_options(
    ctx: typer.Context,
    target: str,
    log_level: LogLevel,
    bootstrap_servers: str | None,
    app_dir: Path,
    broker_timeout: float,
) -> RunOptions:
    return RunOptions(
        target=target,
        app_dir=app_dir.resolve(),
        log_level=log_level.value,
        bootstrap_servers=bootstrap_servers,
        broker_timeout=broker_timeout,
        settings=tuple(ctx.args),
    )
