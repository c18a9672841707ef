"""The ``stream`` entry point: run the typer app and turn user errors into one line.

``stream --version`` is answered before typer is imported, so that it starts in the
time Python itself does; so is a plain one-process ``stream run`` (see
:mod:`stream.cli._quick_run`), so that a service starts without typer's cost.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ("main",)

_USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``stream`` with ``argv`` (default: ``sys.argv[1:]``) and returns its exit code.

    A mistake the user can fix (a missing module, a bad option, a broker that does not
    answer...) is printed as one ``error: ...`` line on stderr, with exit code 1 (2 for
    a malformed command line), never as a traceback.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:
        from stream.cli._version import version_text

        print(version_text())
        return 0
    try:
        return _run(arguments)
    except KeyboardInterrupt:
        return 130
    except BaseException as error:  # sorted out in _report; what is not ours is re-raised
        return _report(error)


def _run(arguments: list[str]) -> int:
    from stream.cli._quick_run import quick_run_options

    options = quick_run_options(arguments)
    if options is None:
        return _run_app(arguments)
    from stream.cli._runner import run

    return run(options)


def _run_app(arguments: list[str]) -> int:
    import typer

    from stream.cli._app import app

    try:
        result = app(args=arguments, prog_name="stream", standalone_mode=False)
    except typer.TyperException as error:
        # typer's (click's) own usage errors: one line, with where to look for help.
        context = getattr(error, "ctx", None)
        hint = f" (see `{context.command_path} --help`)" if context is not None else ""
        print(f"error: {error.format_message()}{hint}", file=sys.stderr)
        return int(getattr(error, "exit_code", _USAGE_ERROR))
    except typer.Abort:
        return 1
    return result if isinstance(result, int) else 0


def _report(error: BaseException) -> int:
    import logging

    from stream.cli._errors import CliError

    leaf = _single(error)
    if isinstance(leaf, SystemExit):
        raise leaf
    if isinstance(leaf, KeyboardInterrupt):
        return 130
    if not isinstance(leaf, Exception):
        raise error
    if isinstance(leaf, CliError) or _is_stream_error(leaf):
        print(f"error: {leaf}", file=sys.stderr)
        return 1
    # Not ours to explain (a client library's error, a bug): still one line, unless
    # the user asked for the details.
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("stream.cli").error("failed", exc_info=leaf)
    else:
        print(
            f"error: {type(leaf).__name__}: {leaf} (--log-level debug shows the traceback)",
            file=sys.stderr,
        )
    return 1


def _single(error: BaseException) -> BaseException:
    # anyio task groups wrap what their tasks raise; one error is the common case.
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _is_stream_error(error: BaseException) -> bool:
    core = sys.modules.get("stream.core")
    return core is not None and isinstance(error, core.StreamError)


if __name__ == "__main__":
    sys.exit(main())
