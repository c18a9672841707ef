"""``make_server``/``serve``: the page and the raw documents over HTTP on this machine."""

import http.client
import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from demo.app import Service as Demo
from stream.asyncapi import DocsServer, asyncapi_document, make_server
from tests.asyncapi.conftest import chromium_command, run_chromium
from tests.asyncapi.services import Auditor, Everything


@pytest.fixture
def served() -> Iterator[DocsServer]:
    server = make_server(Demo, "127.0.0.1", 0)  # port 0: any free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_serves_the_page_and_both_documents(served: DocsServer) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    status, content_type, body = get(served.url)
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert b'id="channel-input_data"' in body
    status, content_type, body = get(served.url + "asyncapi.json")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == asyncapi_document(Demo)
    status, _, body = get(served.url + "asyncapi.yaml")
    assert status == 200
    assert yaml.safe_load(body) == asyncapi_document(Demo)


def test_unknown_paths_are_404(served: DocsServer) -> None:
    status, _, body = get(served.url + "nope")
    assert (status, body) == (404, b"not found\n")


def test_a_document_or_several_services_can_be_served() -> None:
    older = asyncapi_document(Demo, version="3.0.0")
    for target, title in ((older, "Service"), ([Everything, Auditor], "Everything, Auditor")):
        server = make_server(target, "127.0.0.1", 0)
        try:
            served = json.loads(server.routes["/asyncapi.json"][1])
        finally:
            server.server_close()
        assert served["info"]["title"] == title
    assert served["asyncapi"] == "3.1.0"


def test_chromium_loads_the_served_page_offline(
    served: DocsServer, chromium: str, tmp_path: Path
) -> None:
    dom = run_chromium(chromium_command(chromium, tmp_path / "profile", "--dump-dom", served.url))
    assert 'id="channel-input_data"' in dom
    assert 'id="channel-output_data"' in dom
    assert 'id="message-input_data-DataBasic"' in dom


class Answer(NamedTuple):
    status: int
    headers: Message
    body: bytes


def request(server: DocsServer, host: str | None, method: str = "GET", path: str = "/") -> Answer:
    """``method path`` with the given Host header (``None``: without one)."""
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def test_only_its_own_host_names_are_answered(served: DocsServer) -> None:
    port = served.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        answer = request(served, host)
        assert answer.status == 200, host
        assert b'id="channel-input_data"' in answer.body
    # DNS rebinding: a name the attacker controls, now pointing here, is refused.
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", "localhost"):
        answer = request(served, host)
        assert answer.status == 421, host
        assert answer.body.count(b"\n") == 1 and answer.body.endswith(b"\n")
        assert b"channel" not in answer.body
    answer = request(served, None)
    assert answer.status == 400
    assert answer.body == b"missing Host header\n"


def test_every_answer_forbids_sniffing_scripts_and_framing(served: DocsServer) -> None:
    port = served.server_address[1]
    host = f"127.0.0.1:{port}"
    answers = [
        request(served, host),
        request(served, host, path="/asyncapi.json"),
        request(served, host, path="/nope"),
        request(served, "evil.example"),
        request(served, host, method="POST"),  # the standard library's own error page
    ]
    assert [a.status for a in answers] == [200, 200, 404, 421, 501]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        policy = {
            directive.split()[0]: directive.split()[1:]
            for directive in answer.headers["Content-Security-Policy"].split(";")
        }
        assert policy["default-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert "script-src" not in policy  # the page has no script: default-src forbids them
        assert "'unsafe-inline'" not in policy.get("style-src", [])
        server = answer.headers["Server"]
        assert "Python" not in server and not re.search(r"\d", server), server


def test_the_page_needs_nothing_its_policy_forbids(
    served: DocsServer, chromium: str, tmp_path: Path
) -> None:
    command = chromium_command(
        chromium, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom"
    )
    done = subprocess.run([*command, served.url], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'id="channel-input_data"' in done.stdout
    assert "Content Security Policy" not in done.stderr, done.stderr[-2000:]


def test_idle_connections_are_closed_and_their_threads_end() -> None:
    server = make_server(Demo, "127.0.0.1", 0, idle_timeout=0.5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    before = set(threading.enumerate())
    idle = [socket.create_connection(server.server_address[:2], timeout=10) for _ in range(50)]
    try:
        # Each connection has its handler thread; once the server has accepted them all,
        # a request still gets an answer.
        answer = request(server, f"127.0.0.1:{server.server_address[1]}")
        assert answer.status == 200
        deadline = time.monotonic() + 10
        for connection in idle:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                assert connection.recv(1) == b"", "the server sent something unasked"
            except TimeoutError:
                pytest.fail("an idle connection was still open 10 s later (timeout 0.5 s)")
            except ConnectionResetError:
                pass  # closed too
        handlers = set(threading.enumerate()) - before
        for handler in handlers:
            handler.join(timeout=max(deadline - time.monotonic(), 0.01))
        assert not [h for h in handlers if h.is_alive()]
        assert threading.active_count() <= len(before)
    finally:
        for connection in idle:
            connection.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_idle_timeout_defaults_to_ten_seconds(served: DocsServer) -> None:
    assert served.idle_timeout == 10.0


def test_on_every_interface_the_machine_name_and_ip_addresses_are_answered() -> None:
    server = make_server(Demo, "0.0.0.0", 0)  # bound, but it never answers anyone
    try:
        port = server.server_address[1]
        for host in (
            f"192.0.2.7:{port}",
            f"[2001:db8::1]:{port}",
            f"{socket.gethostname()}:{port}",
        ):
            assert server.serves_host(host), host
        for host in (f"evil.example:{port}", f"192.0.2.7:{port + 1}", "192.0.2.7", None):
            assert not server.serves_host(host), host
    finally:
        server.server_close()
