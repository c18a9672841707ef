"""The documentation site builds without a warning, shows every page, and renders in a browser.

``mkdocs build --strict`` fails on a missing page, a broken link or anchor, an example
file that is not there, or a cross-reference mkdocstrings cannot resolve (see the
``validation`` settings in ``mkdocs.yml``). The API reference must list exactly what each
public module exports. Headless Chromium loads the home page, the getting-started page and
a reference page from a local server; screenshots go to ``artifacts/docs/`` for a person
to look at.
"""

from __future__ import annotations

import functools
import importlib
import re
import shutil
import struct
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.asyncapi.conftest import chromium_command, run_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "docs"

REFERENCE = {
    "core": "stream.core",
    "transport": "stream.core.transport",
    "kafka": "stream.kafka",
    "kafka-local": "stream.kafka_local",
    "testing": "stream.testing",
    "testing-plugin": "stream.testing.plugin",
    "asyncapi": "stream.asyncapi",
    "opentelemetry": "stream.opentelemetry",
    "prometheus": "stream.prometheus",
    "cli": "stream.cli",
}


def nav_pages(nav: list[object]) -> Iterator[str]:
    for entry in nav:
        assert isinstance(entry, dict)
        for value in entry.values():
            if isinstance(value, str):
                yield value
            else:
                yield from nav_pages(value)


def page_path(page: str) -> str:
    """``guides/cli.md`` -> ``guides/cli/index.html`` (mkdocs' directory URLs)."""
    if page == "index.md":
        return "index.html"
    return page.removesuffix(".md") + "/index.html"


class _Config(yaml.SafeLoader):
    """mkdocs.yml with its `!!python/name:` tags read as plain text."""


_Config.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def test_every_page_is_in_the_nav_and_built(site: Path) -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Config)
    pages = list(nav_pages(config["nav"]))
    written = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert sorted(pages) == sorted(written)
    for page in pages:
        assert (site / page_path(page)).is_file(), page
    for name in REFERENCE:
        assert f"reference/{name}.md" in pages


@pytest.mark.parametrize("page", sorted(REFERENCE))
def test_the_api_reference_lists_exactly_the_public_names(site: Path, page: str) -> None:
    module = importlib.import_module(REFERENCE[page])
    html = (site / "reference" / page / "index.html").read_text()
    documented = set(re.findall(rf'id="{re.escape(module.__name__)}\.(\w+)"', html))
    # stream.cli exports nothing: its page shows stream.cli.main, the `stream` entry point.
    assert documented == set(module.__all__) | ({"main"} if page == "cli" else set())
    # Nothing private has an entry of its own (special methods such as __call__ may).
    entries = re.findall(r'id="(stream\.[\w.]+)"', html)
    assert not [e for e in entries if re.search(r"\._(?!_)", e)], entries


def test_every_snippet_was_included(site: Path) -> None:
    # A mangled include line (`--8 < --"file"`) is no include: it would show as code text.
    shown = [p for p in site.rglob("*.html") if "--8" in p.read_text()]
    assert not shown, shown


def test_the_bench_chart_is_on_the_benchmark_page(site: Path) -> None:
    html = (site / "guides" / "benchmark" / "index.html").read_text()
    assert 'src="../../bench/results.png"' in html
    assert (site / "bench" / "results.png").is_file()


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (search runs in a worker, which file:// forbids)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


SCREENSHOTS = {
    "home": ("", "stream"),
    "getting-started": ("getting-started/", "Getting started"),
    "reference-core": ("reference/core/", "stream.core"),
}


@pytest.mark.parametrize("name", sorted(SCREENSHOTS))
def test_pages_render_in_chromium(name: str, served: str, chromium: str, tmp_path: Path) -> None:
    url = f"{served}/{SCREENSHOTS[name][0]}"
    dom = run_chromium(
        chromium_command(
            chromium, tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom", url
        )
    )
    assert "<h1" in dom and SCREENSHOTS[name][1] in dom
    assert 'class="md-nav' in dom  # the navigation
    assert 'class="md-search__input"' in dom  # the search box
    assert 'class="highlight"' in dom or name == "home"  # highlighted code
    screenshot = tmp_path / f"{name}.png"
    run_chromium(
        chromium_command(
            chromium,
            tmp_path / "profile",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
            f"--screenshot={screenshot}",
            "--window-size=1280,1400",
            url,
        )
    )
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 1400)
    assert len(data) > 60_000  # an empty or unstyled page compresses to far less
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / f"{name}.png")
