"""Serving the page and the raw documents over HTTP, with the standard library only.

Routes: ``/`` (the page), ``/asyncapi.json`` and ``/asyncapi.yaml``. Everything is
rendered once, when the server is made; the documents describe code, which does not
change while it runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stream.asyncapi._document import DEFAULT_VERSION, asyncapi_document
from stream.asyncapi._output import to_json, to_yaml
from stream.asyncapi._page import render_html
from stream.core import Service

__all__ = ("DocsServer", "make_server", "serve")

logger = logging.getLogger("stream.asyncapi")

DocsTarget = Mapping[str, Any] | type[Service] | Service | Sequence[type[Service] | Service]
"""A document already made, or the services to make it from."""


class DocsServer(ThreadingHTTPServer):
    """An HTTP server of one document's page, JSON and YAML.

    Attributes:
        routes: Path to ``(content type, body)``.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: Mapping[str, tuple[str, bytes]]) -> None:
        self.routes = dict(routes)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """Where the page is, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self.server_address[:2]
        shown = host.decode() if isinstance(host, bytes) else host
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: DocsServer

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        found = self.server.routes.get(path)
        status = 200 if found is not None else 404
        content_type, body = found or ("text/plain; charset=utf-8", b"not found\n")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def make_server(
    target: DocsTarget,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    version: str = DEFAULT_VERSION,
) -> DocsServer:
    """A server (bound, not yet serving) of ``target``'s page and documents.

    Args:
        target: An AsyncAPI document, or a service class or instance, or several.
        host: The address to listen on.
        port: The port; ``0`` picks a free one (see :attr:`DocsServer.url`).
        version: The AsyncAPI version, when the document is made from services.

    Raises:
        OSError: the address cannot be bound (the port is taken, for instance).
    """
    document = _document_of(target, version)
    html = render_html(document).encode()
    routes = {
        "/": ("text/html; charset=utf-8", html),
        "/index.html": ("text/html; charset=utf-8", html),
        "/asyncapi.json": ("application/json", to_json(document).encode()),
        "/asyncapi.yaml": ("application/yaml; charset=utf-8", to_yaml(document).encode()),
    }
    return DocsServer((host, port), routes)


def serve(
    target: DocsTarget,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    version: str = DEFAULT_VERSION,
) -> None:
    """Serves ``target``'s page and documents until interrupted (Ctrl+C).

    Args:
        target: An AsyncAPI document, or a service class or instance, or several.
        host: The address to listen on.
        port: The port to listen on.
        version: The AsyncAPI version, when the document is made from services.
    """
    with make_server(target, host, port, version=version) as server:
        logger.info("AsyncAPI docs at %s (JSON: asyncapi.json, YAML: asyncapi.yaml)", server.url)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how a person stops it
            server.serve_forever()


def _document_of(target: DocsTarget, version: str) -> Mapping[str, Any]:
    if isinstance(target, Mapping):
        return target
    if isinstance(target, type | Service):
        return asyncapi_document(target, version=version)
    return asyncapi_document(*target, version=version)
