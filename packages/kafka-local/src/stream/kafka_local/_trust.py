"""How far the jar cache is trusted: folders nobody else can change, and a sha256 manifest.

``java -cp "libs/*"`` runs every jar in the folder, so the cache is trusted no further than
it can be checked:

- When it is filled: Maven runs with ``--strict-checksums`` and an empty local repository
  of its own, so every file is fetched in that run and fails the build unless it matches
  the checksum its repository publishes. Each copied jar is then compared with the
  published ``.sha1`` once more here, and the manifest (name -> sha256) is written.
- Every time it is used: the folders from the cache root down, the manifest and the jars
  must belong to the user and be writable by nobody else, and ``libs`` must hold exactly
  the manifest's files, each with its recorded sha256.

Hashing is cheap (about 44 MB for Kafka 4.1), so the jars are hashed on every start rather
than trusted by size and mtime, which anyone who can write the file can also set.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
from pathlib import Path

from stream.kafka_local._errors import LauncherError

__all__ = (
    "MANIFEST",
    "check_folders",
    "make_folders",
    "seal",
    "verify_libs",
    "verify_published_sha1",
)

MANIFEST = "manifest.sha256"
"""The manifest's file name, next to ``libs``; ``sha256sum`` format (``cd libs && sha256sum
-c ../manifest.sha256`` checks it by hand)."""

_LINE = re.compile(r"([0-9a-f]{64})  ([^/\x00]+)")
_DIR_MODE = 0o755
_FILE_MODE = 0o644
_CHECKSUM_SUFFIXES = (".sha1", ".sha256", ".sha512", ".md5", ".asc")


def make_folders(cache_root: Path, folder: Path) -> None:
    """Create ``folder`` (under ``cache_root``) and any missing parent, then check them.

    Folders are made ``0o755`` whatever the umask, so a umask of ``002`` does not leave
    behind a group-writable cache that :func:`check_folders` would then refuse.
    """
    missing = []
    path = folder
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    try:
        for path in reversed(missing):
            path.mkdir(mode=_DIR_MODE, exist_ok=True)
    except OSError as exc:
        raise LauncherError(f"Could not create the Kafka jar cache folder {path}: {exc}") from None
    check_folders(cache_root, folder)


def check_folders(cache_root: Path, folder: Path) -> None:
    """Raise ``LauncherError`` unless ``cache_root`` and each folder below it down to
    ``folder`` belong to the user and are writable by nobody else.

    ``cache_root`` may be a symbolic link (to a folder that passes the same test); the
    launcher never makes one below it, so a link there is refused.
    """
    path = cache_root
    _check_owner_and_mode(path, _stat(path, follow=True), "folder")
    for part in folder.relative_to(cache_root).parts:
        path /= part
        found = _stat(path, follow=False)
        if not stat.S_ISDIR(found.st_mode):
            raise LauncherError(
                f"The Kafka jar cache folder {path} is not a folder (a symbolic link or a "
                f"file), which the launcher never makes. {_delete_to_redownload(path)}"
            )
        _check_owner_and_mode(path, found, "folder")


def verify_libs(root: Path) -> Path:
    """Return ``root/libs`` if it holds exactly the files the manifest lists, each a regular
    file of the user's, writable by nobody else, with the listed sha256; else raise
    ``LauncherError`` naming the file and saying to delete ``root``.

    The parents of ``root`` are checked by :func:`check_folders`.
    """
    libs, manifest = root / "libs", root / MANIFEST
    expected = _read_manifest(manifest, root)
    found = _stat(libs, follow=False)
    if not stat.S_ISDIR(found.st_mode):
        raise LauncherError(
            f"The Kafka jar cache folder {libs} is not a folder (a symbolic link or a file), "
            f"which the launcher never makes. {_delete_to_redownload(root)}"
        )
    _check_owner_and_mode(libs, found, "folder")
    present = set(os.listdir(libs))
    extra = sorted(present - expected.keys())
    if extra:
        raise LauncherError(
            f"The Kafka jar cache holds {libs / extra[0]}, which is not in {manifest}: java "
            f"would run it with the broker, and the launcher did not download it. "
            f"{_delete_to_redownload(root)}"
        )
    missing = sorted(expected.keys() - present)
    if missing:
        raise LauncherError(
            f"The Kafka jar cache lacks {libs / missing[0]}, which {manifest} lists. "
            f"{_delete_to_redownload(root)}"
        )
    for name, sha256 in sorted(expected.items()):
        actual = _digest(libs / name, "sha256", root)
        if actual != sha256:
            raise LauncherError(
                f"The Kafka jar cache file {libs / name} has changed since it was downloaded: "
                f"its sha256 is {actual}, {manifest} records {sha256}. "
                f"{_delete_to_redownload(root)}"
            )
    return libs


def verify_published_sha1(libs: Path, repository: Path) -> None:
    """Raise ``LauncherError`` unless each file in ``libs`` matches the ``.sha1`` its Maven
    repository published, as Maven stored it next to the artifact in ``repository``.

    Maven's ``--strict-checksums`` already failed the download on a mismatch; this check
    does not depend on Maven's flags, settings or version (Maven 3.8 also accepts a lone
    ``.md5``), and fails when no SHA-1 was published at all.
    """
    artifacts: dict[str, list[Path]] = {}
    for path in repository.rglob("*"):
        if path.is_file() and not path.name.endswith(_CHECKSUM_SUFFIXES):
            artifacts.setdefault(path.name, []).append(path)
    for jar in sorted(libs.iterdir()):
        published = set()
        for artifact in artifacts.get(jar.name, []):
            sha1_file = artifact.with_name(artifact.name + ".sha1")
            if sha1_file.is_file():
                words = sha1_file.read_text(encoding="ascii", errors="replace").split()
                published.update(words[:1])
        if not published:
            raise LauncherError(
                f"Maven copied {jar.name} but its repository published no SHA-1 for it, so it "
                f"cannot be checked; nothing was cached."
            )
        actual = _digest(jar, "sha1", libs.parent)
        if actual not in {word.lower() for word in published}:
            raise LauncherError(
                f"{jar.name} does not match the SHA-1 its Maven repository published "
                f"({', '.join(sorted(published))}; the file's is {actual}); nothing was cached."
            )


def seal(libs: Path) -> str:
    """Make ``libs`` and its files writable by the user only; return the manifest's text."""
    os.chmod(libs, _DIR_MODE)
    lines = []
    for path in sorted(libs.iterdir()):
        if not stat.S_ISREG(path.lstat().st_mode):
            raise LauncherError(
                f"Maven left {path}, which is not a regular file; nothing was cached."
            )
        os.chmod(path, _FILE_MODE)
        lines.append(f"{_digest(path, 'sha256', libs.parent)}  {path.name}\n")
    return "".join(lines)


def _read_manifest(manifest: Path, root: Path) -> dict[str, str]:
    try:
        text = _read_checked(manifest, root).decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match is None or match.group(2) in {".", ".."} or match.group(2) in entries:
            entries = {}
            break
        entries[match.group(2)] = match.group(1)
    if not entries:
        raise LauncherError(
            f"The Kafka jar cache manifest {manifest} is not a list of sha256 sums. "
            f"{_delete_to_redownload(root)}"
        )
    return entries


def _stat(path: Path, *, follow: bool) -> os.stat_result:
    try:
        return path.stat() if follow else path.lstat()
    except OSError as exc:
        raise LauncherError(f"Could not inspect the Kafka jar cache at {path}: {exc}") from None


def _check_owner_and_mode(path: Path, found: os.stat_result, kind: str) -> None:
    """Refuse ``path`` unless the user owns it and neither group nor others may write it."""
    uid = os.geteuid()
    quoted = shlex.quote(str(path))
    if found.st_uid != uid:
        raise LauncherError(
            f"The Kafka jar cache {kind} {path} belongs to uid {found.st_uid}, not to you "
            f"(uid {uid}): its owner could change the jars java runs. Use a cache of your own "
            f"(set STREAM_KAFKA_CACHE), or delete it, or take it over (as root: chown -R "
            f"{uid} {quoted}) if you trust its contents."
        )
    if found.st_mode & 0o022:
        mode = stat.S_IMODE(found.st_mode)
        recursive = "-R " if kind == "folder" else ""
        raise LauncherError(
            f"The Kafka jar cache {kind} {path} is writable by group or others (mode "
            f"{mode:03o}): another user could change the jars java runs. Fix it with: "
            f"chmod {recursive}go-w {quoted} (or delete it to download again)."
        )


def _open_checked(path: Path, root: Path) -> int:
    """Open ``path`` for reading, refusing a symbolic link or anything but a regular file
    of the user's that nobody else may write; return the file descriptor."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise LauncherError(
            f"Could not read the Kafka jar cache file {path} ({exc.strerror}; a symbolic link "
            f"is refused). {_delete_to_redownload(root)}"
        ) from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise LauncherError(
                f"The Kafka jar cache entry {path} is not a regular file. "
                f"{_delete_to_redownload(root)}"
            )
        _check_owner_and_mode(path, found, "file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_checked(path: Path, root: Path) -> bytes:
    with os.fdopen(_open_checked(path, root), "rb") as file:
        return file.read()


def _digest(path: Path, algorithm: str, root: Path) -> str:
    with os.fdopen(_open_checked(path, root), "rb", buffering=0) as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def _delete_to_redownload(root: Path) -> str:
    return f"Delete the folder to download the jars again: rm -rf {shlex.quote(str(root))}"
