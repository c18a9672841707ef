"""The HTML page: self-contained, and showing every channel and message in a real browser.

Chromium runs headless with the network cut off (see ``chromium_command``); each page
is loaded from a file, its DOM is read back, and a screenshot is kept under
``artifacts/asyncapi/`` for a person to look at.
"""

import re
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from demo.app import Service as Demo
from stream import core
from stream.asyncapi import asyncapi_document, render_html
from stream.core import Service, consume
from tests.asyncapi.conftest import ARTIFACTS, chromium_command, run_chromium
from tests.asyncapi.services import Auditor, Everything

PAGES: dict[str, tuple[type[Service], ...]] = {
    "demo": (Demo,),
    "everything": (Everything,),
    "together": (Everything, Auditor),
}


def shown_part(dom: str) -> str:
    """The page without its raw-document section, which would repeat every name."""
    return dom.split('<section id="document">', 1)[0]


def channels_and_messages(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(channel id, what the channel is called, message id, message name) of each message."""
    found = []
    for channel_id, channel in document["channels"].items():
        label = channel["address"] or channel["x-stream-topic-pattern"]
        for message_id, message in channel["messages"].items():
            found.append((channel_id, label, message_id, message["name"]))
    return found


def html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize("name", PAGES)
def test_page_is_self_contained(name: str) -> None:
    page = render_html(asyncapi_document(*PAGES[name]))
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no scripts, stylesheets, images, fonts or frames from anywhere.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.IGNORECASE)
    assert not re.search(r"\b(src|srcset)\s*=|@import|url\(", page, re.IGNORECASE)
    assert "http://" not in page
    assert "https://" not in page


def test_page_escapes_what_it_shows() -> None:
    class Sneaky(core.Service):
        """Says <script>alert(1)</script> & more."""

        @consume("in<put>")
        async def on_in(self, value: int) -> None:
            """Reads <b>bold</b> claims."""

    page = render_html(asyncapi_document(Sneaky))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_page_lists_operations_with_their_groups() -> None:
    page = shown_part(render_html(asyncapi_document(Demo)))
    assert '<span class="badge receive">receive</span>' in page
    assert '<span class="badge send">send</span>' in page
    assert "<code>Service.on_input_data</code> receives in group" in page
    assert "dead letters to <code>input_data.dlq</code>" in page
    assert "Float data example" in page  # the field's description, in the payload table
    assert "&quot;data&quot;: 0.5" in page  # the example


@pytest.mark.parametrize("name", PAGES)
def test_chromium_shows_every_channel_and_message(name: str, chromium: str, tmp_path: Path) -> None:
    document = asyncapi_document(*PAGES[name])
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(document))
    dom = run_chromium(
        chromium_command(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    )
    shown = shown_part(dom)
    assert f"<title>{document['info']['title']}" in dom
    for channel_id, label, message_id, message_name in channels_and_messages(document):
        assert f'id="channel-{channel_id}"' in shown, channel_id
        assert html_text(label) in shown, label
        assert f'id="message-{channel_id}-{message_id}"' in shown, message_id
        assert f"Message {message_name.replace('.', '.<wbr>')}<" in shown, message_name
    for operation in document["operations"].values():
        assert f"<code>{operation['title']}</code>" in shown


@pytest.mark.parametrize("name", ["demo", "everything"])
def test_screenshot_of_the_page(name: str, chromium: str, tmp_path: Path) -> None:
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(asyncapi_document(*PAGES[name])))
    screenshot = tmp_path / f"{name}.png"
    run_chromium(
        chromium_command(
            chromium,
            tmp_path / "profile",
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            "--window-size=1280,2000",
            page.as_uri(),
        )
    )
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    # A blank or unstyled page compresses to a few kilobytes; text and tables do not.
    assert len(data) > 50_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / f"{name}.png")
    shutil.copyfile(page, ARTIFACTS / f"{name}.html")
