"""Serving the page and the raw documents over HTTP, with the standard library only.

Routes: ``/`` (the page), ``/asyncapi.json`` and ``/asyncapi.yaml``. Everything is
rendered once, when the server is made; the documents describe code, which does not
change while it runs.

The server means to be safe to leave running on a developer's machine, where a web
page in the browser may try to reach it:

- It answers only requests whose ``Host`` is its own address (or ``localhost``,
  ``127.0.0.1``, ``[::1]`` with its port), so a page whose domain name was re-pointed
  at 127.0.0.1 (DNS rebinding) gets a 421, not the documents.
- Every answer says ``X-Content-Type-Options: nosniff`` and carries a
  Content-Security-Policy that allows the page's own stylesheet and nothing else: no
  script, no fetch, no frame around it.
- The ``Server`` header does not tell the Python version.
- A connection that sends nothing for ``idle_timeout`` seconds is closed, and its
  thread ends, so idle connections cannot pile up threads.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stream.asyncapi._document import DEFAULT_VERSION, asyncapi_document
from stream.asyncapi._output import to_json, to_yaml
from stream.asyncapi._page import render_html
from stream.core import Service

__all__ = ("DEFAULT_IDLE_TIMEOUT", "DocsServer", "make_server", "serve")

DEFAULT_IDLE_TIMEOUT = 10.0
"""Seconds a connection may stay silent before the server closes it."""

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_EVERY_INTERFACE = ("", "0.0.0.0", "::")  # noqa: S104 - names to recognise, not to bind
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)

logger = logging.getLogger("stream.asyncapi")

DocsTarget = Mapping[str, Any] | type[Service] | Service | Sequence[type[Service] | Service]
"""A document already made, or the services to make it from."""


class DocsServer(ThreadingHTTPServer):
    """An HTTP server of one document's page, JSON and YAML.

    Attributes:
        routes: Path to ``(content type, body)``.
        idle_timeout: Seconds a connection may stay silent before it is closed.
        content_security_policy: The ``Content-Security-Policy`` of every answer: the
            inline stylesheets of the HTML routes, by hash, and nothing else.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        routes: Mapping[str, tuple[str, bytes]],
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        """Binds ``address``; see :func:`make_server`.

        Args:
            address: ``(host, port)``; port ``0`` picks a free one.
            routes: Path to ``(content type, body)``.
            idle_timeout: Seconds a connection may stay silent before it is closed.
        """
        self.routes = dict(routes)
        self.idle_timeout = idle_timeout
        self.content_security_policy = _content_security_policy(self.routes.values())
        super().__init__(address, _Handler)
        self._port = int(self.server_address[1])
        self._host_names = _host_names(self._host, self._port)

    def serves_host(self, host: str | None) -> bool:
        """Whether a request with this ``Host`` header is meant for this server.

        Its own address and the loopback names count, with its port. On every interface
        (``0.0.0.0``, ``::``), so do the machine's name and any IP address: a browser
        sends an IP address only when the user typed it, never after DNS rebinding.
        """
        if host is None:
            return False
        wanted = host.strip().lower()
        if wanted in self._host_names:
            return True
        if not self._every_interface:
            return False
        name, _, port = wanted.rpartition(":")
        if port != str(self._port):
            return False
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
            return True
        return False

    @property
    def _every_interface(self) -> bool:
        return self._host in _EVERY_INTERFACE

    @property
    def _host(self) -> str:
        host = self.server_address[0]
        return host if isinstance(host, str) else bytes(host).decode()

    @property
    def url(self) -> str:
        """Where the page is, e.g. ``http://127.0.0.1:8000/``."""
        shown = self._host
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{self._port}/"


class _Handler(BaseHTTPRequestHandler):
    server: DocsServer
    server_version = "stream-docs"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # A read (or a write) that waits longer raises TimeoutError, upon which
        # handle_one_request closes the connection and this thread ends.
        self.connection.settimeout(self.server.idle_timeout)

    def version_string(self) -> str:
        return self.server_version

    def end_headers(self) -> None:
        # Here, so the standard library's own error answers (501, 414...) have them too.
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", self.server.content_security_policy)
        super().end_headers()

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        host = self.headers.get("Host")
        if host is None:
            status, found = 400, ("text/plain; charset=utf-8", b"missing Host header\n")
        elif not self.server.serves_host(host):
            line = f"misdirected request: this server is {self.server.url}\n"
            status, found = 421, ("text/plain; charset=utf-8", line.encode())
        else:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            route = self.server.routes.get(path)
            status = 200 if route is not None else 404
            found = route or ("text/plain; charset=utf-8", b"not found\n")
        content_type, body = found
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
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> DocsServer:
    """A server (bound, not yet serving) of ``target``'s page and documents.

    Args:
        target: An AsyncAPI document, or a service class or instance, or several.
        host: The address to listen on.
        port: The port; ``0`` picks a free one (see :attr:`DocsServer.url`).
        version: The AsyncAPI version, when the document is made from services.
        idle_timeout: Seconds a connection may stay silent before it is closed.

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
    return DocsServer((host, port), routes, idle_timeout=idle_timeout)


def serve(
    target: DocsTarget,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    version: str = DEFAULT_VERSION,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> None:
    """Serves ``target``'s page and documents until interrupted (Ctrl+C).

    Args:
        target: An AsyncAPI document, or a service class or instance, or several.
        host: The address to listen on.
        port: The port to listen on.
        version: The AsyncAPI version, when the document is made from services.
        idle_timeout: Seconds a connection may stay silent before it is closed.
    """
    with make_server(target, host, port, version=version, idle_timeout=idle_timeout) as server:
        logger.info("AsyncAPI docs at %s (JSON: asyncapi.json, YAML: asyncapi.yaml)", server.url)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how a person stops it
            server.serve_forever()


def _document_of(target: DocsTarget, version: str) -> Mapping[str, Any]:
    if isinstance(target, Mapping):
        return target
    if isinstance(target, type | Service):
        return asyncapi_document(target, version=version)
    return asyncapi_document(*target, version=version)


def _host_names(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values (lower case) that name this server."""
    names = {*_LOOPBACK_NAMES, f"[{host}]" if ":" in host else host}
    if host in _EVERY_INTERFACE:
        names.add(socket.gethostname())
    with_port = {f"{name.lower()}:{port}" for name in names}
    # A browser leaves out the port it would use anyway.
    return frozenset(with_port | ({name.lower() for name in names} if port == 80 else set()))


def _content_security_policy(routes: Iterable[tuple[str, bytes]]) -> str:
    hashes = sorted(
        {
            _source_hash(style)
            for content_type, body in routes
            if content_type.startswith("text/html")
            for style in _STYLE.findall(body.decode())
        }
    )
    styles = f"style-src {' '.join(hashes)}; " if hashes else ""
    # default-src 'none' forbids scripts, images, fonts, fetches and frames: the page
    # needs none of them.
    return (
        f"default-src 'none'; {styles}base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _source_hash(text: str) -> str:
    """A CSP source that allows exactly the inline ``<style>`` whose content is ``text``."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"
