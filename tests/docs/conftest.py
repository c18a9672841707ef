"""Fixtures of the documentation tests: the built site, and Chromium as the AsyncAPI tests find it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.asyncapi.conftest import chromium  # noqa: F401  (the fixture: one way to find Chromium)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as the check command builds it: ``mkdocs build --strict``."""
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    return folder
