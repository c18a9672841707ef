"""Fixtures for the AsyncAPI tests: the official parser (npm) and headless Chromium.

The parser's packages are installed here, from the committed lock file, the first time
they are needed. Chromium is not installed by the tests: a machine without it fails
the page tests with the command that installs it.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

PARSER_DIR = Path(__file__).parent / "parser"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "asyncapi"

Validate = Callable[[Sequence[Path]], dict[str, Any]]


@pytest.fixture(scope="session")
def asyncapi_parser() -> Validate:
    """Runs ``@asyncapi/parser`` over files; returns its report (see validate.mjs)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are missing: the AsyncAPI parser runs on Node.js 18+")
    if not _installed_as_locked():
        # --ignore-scripts: nothing in the tree needs an install script, and one of them
        # would try to reach the network to report usage.
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PARSER_DIR,
            check=True,
            timeout=110,
            capture_output=True,
        )

    def validate(files: Sequence[Path]) -> dict[str, Any]:
        done = subprocess.run(
            [node, "validate.mjs", *map(str, files)],
            cwd=PARSER_DIR,
            capture_output=True,
            text=True,
            timeout=100,
        )
        if not done.stdout.strip():
            pytest.fail(f"validate.mjs printed nothing; stderr:\n{done.stderr}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    return validate


def _installed_as_locked() -> bool:
    # npm records what it installed in node_modules/.package-lock.json; a lock file that
    # changed since (a version bump) means installing again.
    installed = PARSER_DIR / "node_modules" / ".package-lock.json"
    if not installed.is_file():
        return False
    locked = json.loads((PARSER_DIR / "package-lock.json").read_text())["packages"]
    wanted = {path: entry for path, entry in locked.items() if path}
    return bool(json.loads(installed.read_text())["packages"] == wanted)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's headless-capable Chromium."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found is None:
        pytest.fail(
            "Chromium is missing; the AsyncAPI page is tested in a real browser. "
            "Run `apt-get install -y chromium`."
        )
    return found


def chromium_command(chromium: str, profile: Path, *arguments: str) -> list[str]:
    """A headless Chromium command that can reach nothing on the network."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",  # tests run as root in CI, where the sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # No network but this machine: every other host name fails to resolve, and every
        # request that is not to loopback goes to a closed port, so a page that needed
        # the network would show it.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={profile}",
        *arguments,
    ]


def run_chromium(command: list[str]) -> str:
    """Runs a Chromium command; returns what it printed (the DOM, for --dump-dom)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-2000:]}"
    return done.stdout
