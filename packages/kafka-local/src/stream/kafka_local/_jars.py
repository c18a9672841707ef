"""Finding Java and Maven, and assembling the broker's jars into a per-version cache.

The jars come from Maven with the machine's own repository settings, so nothing here
names a host. The cache is shared by every process of the user (several pytest workers
may start at once), hence the file lock and the write-then-rename.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stream.kafka_local._files import pom_xml, validate_version

__all__ = (
    "MIN_JAVA",
    "LauncherError",
    "check_java",
    "default_cache_root",
    "ensure_kafka_jars",
    "tail",
)

MIN_JAVA = 17
_INSTALL_JAVA = "Install OpenJDK 17 or newer (apt-get install openjdk-17-jre-headless)"
_INSTALL_MAVEN = "Install Maven (apt-get install maven)"
_MARKER = "complete"
_MVN_TIMEOUT = 1800.0


class LauncherError(RuntimeError):
    """The local Kafka broker could not be set up, started or reached.

    The first line of the message says what went wrong and what to do; any lines after it
    are the tail of the relevant log.
    """


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def tail(text: str, lines: int = 20) -> str:
    """Return the last ``lines`` non-empty lines of ``text``, indented for an error message."""
    kept = [line for line in _ANSI.sub("", text).splitlines() if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def check_java(java: str = "java") -> int:
    """Return the major version of ``java``; raise ``LauncherError`` unless it is 17+.

    Args:
        java: The java executable, a name looked up on PATH or a path.
    """
    where = shutil.which(java) or java
    try:
        done = subprocess.run(  # noqa: S603 - the executable is the caller's own choice
            [where, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise LauncherError(
            f"Java {MIN_JAVA}+ is needed to run the local Kafka broker; could not run "
            f"{where!r} ({exc.__class__.__name__}: {exc}). {_INSTALL_JAVA}"
        ) from None
    # `java -version` prints to stderr, e.g. 'openjdk version "17.0.15"' or
    # 'java version "1.8.0_292"' (the old scheme puts the major after "1.").
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if found is None:
        raise LauncherError(
            f"Java {MIN_JAVA}+ is needed to run the local Kafka broker; {where!r} did not "
            f"report a version (exit code {done.returncode}). {_INSTALL_JAVA}"
        )
    major = int(found.group(1))
    if major == 1 and found.group(2):
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise LauncherError(
            f"Java {MIN_JAVA}+ is needed to run the local Kafka broker; found Java {major} "
            f"at {where}. {_INSTALL_JAVA}"
        )
    return major


def default_cache_root() -> Path:
    """Return the folder that holds one ``<version>/libs`` folder per Kafka version.

    ``STREAM_KAFKA_CACHE`` wins; otherwise the platform's user cache folder (honouring
    ``XDG_CACHE_HOME``) plus ``stream/kafka``.
    """
    override = os.environ.get("STREAM_KAFKA_CACHE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "stream" / "kafka"


def ensure_kafka_jars(version: str, cache_dir: Path | None = None) -> Path:
    """Return the folder of jars for Kafka ``version``, downloading them once with Maven.

    Safe to call from several processes at once: one downloads under a file lock into a
    staging folder and renames it into place; a marker file records completion, so later
    calls return at once without running Maven.

    Args:
        version: A Kafka 4.x version served by the Maven repository, e.g. ``"4.1.2"``.
        cache_dir: Root of the cache (``<cache_dir>/<version>/libs``); defaults to
            :func:`default_cache_root`.

    Returns:
        The ``libs`` folder, suitable for ``java -cp "<libs>/*"``.

    Raises:
        LauncherError: Maven is missing or the download failed.
    """
    root = (cache_dir if cache_dir is not None else default_cache_root()) / validate_version(
        version
    )
    libs = root / "libs"
    marker = root / _MARKER
    if marker.is_file() and libs.is_dir():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LauncherError(
            f"Maven is needed once to download the Kafka {version} broker jars into {root}; "
            f"no 'mvn' on PATH. {_INSTALL_MAVEN}"
        )
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as lock:
        # Blocks while another process downloads; it will have finished the job by then.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and libs.is_dir():
            return libs
        # Left by a process killed mid-download; nobody else can be using them now.
        for stale in root.glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        try:
            _download(mvn, version, staging)
            # A crash between rename and marker leaves libs without a marker: redo it.
            if libs.exists():
                shutil.rmtree(libs)
            (staging / "libs").rename(libs)
            marker.write_text(f"kafka {version}\n", encoding="utf-8")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return libs


def _download(mvn: str, version: str, staging: Path) -> None:
    """Run Maven in ``staging`` so that ``staging/libs`` holds every jar the broker needs."""
    (staging / "pom.xml").write_text(pom_xml(version), encoding="utf-8")
    command = [
        mvn,
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(staging / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging / 'libs'}",
    ]
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, mvn found on PATH
            command,
            cwd=staging,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_MVN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LauncherError(
            f"Downloading the Kafka {version} jars with Maven took over {_MVN_TIMEOUT:.0f} s"
        ) from None
    jar = staging / "libs" / f"kafka_2.13-{version}.jar"
    if done.returncode != 0 or not jar.is_file():
        raise LauncherError(
            f"Downloading the Kafka {version} jars with Maven failed (exit code "
            f"{done.returncode}); check that Maven can reach its repository and that "
            f"org.apache.kafka:kafka_2.13:{version} exists.\n" + tail(done.stdout + done.stderr)
        )
