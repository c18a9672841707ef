"""``make_server``/``serve``: the page and the raw documents over HTTP on this machine."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
