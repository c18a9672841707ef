"""Finding Java and Maven, and assembling the broker's jars into a per-version cache.

The jars come from Maven with the machine's own repository settings, so nothing here
names a host. The cache is shared by every process of the user (several pytest workers
may start at once), hence the file lock and the write-then-rename. Java runs every jar
in the cache, so it is checked on every use (see ``_trust``): Maven verifies the
repository's checksums when it downloads, a manifest records each jar's sha256, and a
cache that differs from its manifest, or that another user could write, is refused.
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

from stream.kafka_local._errors import LauncherError
from stream.kafka_local._files import pom_xml, validate_version
from stream.kafka_local._trust import (
    MANIFEST,
    check_folders,
    make_folders,
    seal,
    verify_libs,
    verify_published_sha1,
)

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
    staging folder and renames it into place; a manifest and a marker file record
    completion, so later calls return without running Maven. Every call checks the cache
    first: the folders must belong to the user and be writable by nobody else, and the
    ``libs`` folder must hold exactly the files of the manifest, with their sha256.

    Args:
        version: A Kafka 4.x version served by the Maven repository, e.g. ``"4.1.2"``.
        cache_dir: Root of the cache (``<cache_dir>/<version>/libs``); defaults to
            :func:`default_cache_root`.

    Returns:
        The ``libs`` folder, suitable for ``java -cp "<libs>/*"``.

    Raises:
        LauncherError: Maven is missing, the download failed or did not match the
            repository's checksums, or the cache is not to be trusted (it differs from its
            manifest, or another user could change it).
    """
    cache_root = cache_dir if cache_dir is not None else default_cache_root()
    root = cache_root / validate_version(version)
    if _complete(root):
        check_folders(cache_root, root)
        return verify_libs(root)
    mvn = shutil.which("mvn")
    if mvn is None:
        legacy = " (the jars cached there have no manifest, so they are not used)"
        raise LauncherError(
            f"Maven is needed once to download the Kafka {version} broker jars into {root}"
            f"{legacy if (root / _MARKER).exists() else ''}; no 'mvn' on PATH. {_INSTALL_MAVEN}"
        )
    make_folders(cache_root, root)
    with (root / ".lock").open("a") as lock:
        # Blocks while another process downloads; it will have finished the job by then.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(root):
            return verify_libs(root)
        # Left by a process killed mid-download; nobody else can be using them now.
        for stale in root.glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        try:
            _download(mvn, version, staging)
            manifest = seal(staging / "libs")  # first: makes the jars the user's own to write
            verify_published_sha1(staging / "libs", staging / "repository")
            _write(staging / MANIFEST, manifest)
            # Incomplete from here until the marker is back: a crash leads to a new download.
            # A cache from before manifests (marker, no manifest) is replaced as a whole.
            (root / _MARKER).unlink(missing_ok=True)
            (root / MANIFEST).unlink(missing_ok=True)
            libs = root / "libs"
            if libs.exists() or libs.is_symlink():
                # Out of the way in one rename: a broker still running from it keeps its jars.
                libs.rename(staging / "replaced-libs")
            (staging / "libs").rename(libs)
            (staging / MANIFEST).rename(root / MANIFEST)
            _write(root / _MARKER, f"kafka {version}\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return verify_libs(root)


def _complete(root: Path) -> bool:
    """True once a download finished: marker, manifest and libs are all there."""
    return all((root / name).exists() for name in (_MARKER, MANIFEST, "libs"))


def _write(path: Path, text: str) -> None:
    """Write ``path`` readable by all, writable by the user only, whatever the umask."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _download(mvn: str, version: str, staging: Path) -> None:
    """Run Maven in ``staging`` so that ``staging/libs`` holds every jar the broker needs.

    ``--strict-checksums`` fails the build on a file whose published checksum is missing
    or does not match (Maven's default only warns). It is checked only when a file is
    downloaded, never for one already in the local repository (``~/.m2/repository`` may
    hold files fetched earlier under the default policy, or changed since), so Maven gets
    an empty local repository of its own in ``staging/repository``: every file is
    downloaded, and checked, in this run.
    """
    (staging / "pom.xml").write_text(pom_xml(version), encoding="utf-8")
    command = [
        mvn,
        "-B",
        "-q",
        "--strict-checksums",
        "-Dstyle.color=never",
        f"-Dmaven.repo.local={staging / 'repository'}",
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
    output = done.stdout + done.stderr
    if done.returncode != 0 and "Checksum validation failed" in output:
        raise LauncherError(
            f"Downloading the Kafka {version} jars with Maven failed: a file did not match the "
            f"checksum its repository published (or none was published), so nothing was "
            f"cached. Try again later; if it persists, the repository or mirror in Maven's "
            f"settings serves a damaged or altered file.\n" + tail(output)
        )
    jar = staging / "libs" / f"kafka_2.13-{version}.jar"
    if done.returncode != 0 or not jar.is_file():
        raise LauncherError(
            f"Downloading the Kafka {version} jars with Maven failed (exit code "
            f"{done.returncode}); check that Maven can reach its repository and that "
            f"org.apache.kafka:kafka_2.13:{version} exists.\n" + tail(output)
        )
