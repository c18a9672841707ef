"""``stream docs gen`` and ``stream docs serve``: a service's AsyncAPI document.

The documents come from ``stream.asyncapi``; this module only loads the services,
picks the format and reports errors in one line.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from stream.cli._errors import CliError
from stream.cli._loading import load_target
from stream.cli._logs import logger

if TYPE_CHECKING:
    from stream.core import Service

__all__ = ("FORMATS", "format_for", "generate", "serve_docs")

FORMATS = ("json", "yaml", "html")
"""What ``stream docs gen --format`` writes."""

_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".html": "html", ".htm": "html"}


def format_for(output: Path | None, given: str | None) -> str:
    """The format to write: ``given``, else from ``output``'s suffix, else JSON.

    Raises:
        CliError: ``output``'s suffix says nothing and no format is given.
    """
    if given is not None:
        return given
    if output is None:
        return "json"
    found = _SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise CliError(
            f"cannot tell the format of {output.name} from its suffix; pass --format "
            f"({', '.join(FORMATS)}) or name it .json, .yaml or .html"
        )
    return found


def generate(
    targets: Sequence[str], app_dir: Path, output: Path | None, form: str, version: str | None
) -> int:
    """Writes the AsyncAPI document of ``targets`` to ``output`` (stdout when ``None``).

    Returns:
        0 once written.
    """
    document = _document(targets, app_dir, version)
    from stream.asyncapi import render_html, to_json, to_yaml

    text = {"html": render_html, "yaml": to_yaml, "json": to_json}[form](document)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else f"{text}\n")
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {output}: {error.strerror}") from None
    print(f"Wrote the AsyncAPI document ({form}) to {output}", file=sys.stderr)
    return 0


def serve_docs(
    targets: Sequence[str], app_dir: Path, host: str, port: int, version: str | None
) -> int:
    """Serves the page, JSON and YAML of ``targets``'s document until CTRL+C or SIGTERM.

    Returns:
        0 after a stop.
    """
    document = _document(targets, app_dir, version)
    from stream.asyncapi import make_server

    try:
        server = make_server(document, host, port)
    except OSError as error:
        raise CliError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    # serve_forever ends on KeyboardInterrupt; make SIGTERM end it the same way.
    signal.signal(signal.SIGTERM, _interrupt)
    with server:
        logger.info("AsyncAPI docs at %s (also asyncapi.json and asyncapi.yaml)", server.url)
        logger.info("Press CTRL+C to exit")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            logger.info("Stopped serving the docs")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _document(targets: Sequence[str], app_dir: Path, version: str | None) -> dict[str, Any]:
    try:
        from stream.asyncapi import DEFAULT_VERSION, asyncapi_document
    except ImportError:
        raise CliError(
            "stream docs needs stream-asyncapi; install it with `pip install stream-asyncapi`"
        ) from None
    services: list[Service | type[Service]] = [load_target(t, app_dir) for t in targets]
    try:
        return asyncapi_document(*services, version=version or DEFAULT_VERSION)
    except (ValueError, TypeError) as error:
        # BindError is a TypeError: a handler is wrong, and its message says which.
        raise CliError(str(error)) from None
