"""Files that are never seen half-written, and that only their owner can read: every write batchboard makes
to disk goes through here.

A file is written as a temp file in its own directory, synced, renamed over the target, and the directory
synced, so a crash leaves the old file or the new one, never a mixture.

Privacy. The store and the results hold submitted prompts and the model's answers: every file batchboard
creates is 0600 and every directory 0700, whatever the umask (`tempfile.mkstemp`'s mode for temp files,
`create_private` for SQLite databases, `ensure_dir` for directories). SQLite makes a database's -wal, -shm
and -journal files with the database file's own mode, so a database created 0600 keeps them 0600 too.
`make_private` tightens what an older version (or another umask) left readable by others.
`not_a_file` says, in the same words everywhere, why a path given to read is not a file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file ("no such file", "a directory, not a file"); None if it can."""
    if path.is_file():
        return None
    if path.is_dir():
        return "a directory, not a file"
    return "not a regular file" if path.exists() else "no such file"


def ensure_dir(directory: Path) -> Path:
    """Create `directory` and any missing parents, each 0700 whatever the umask; returns it. Directories
    that exist already are left as they are (see `make_private`)."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile (another process, a symlink): keep it as it is
            continue
        os.chmod(path, PRIVATE_DIR)  # the umask may have taken bits off mkdir's mode
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)  # raises the right error (a file in the way...)
    return directory


def create_private(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists (then it is left as it is); True when created.
    Called before SQLite opens a new database, which then keeps the file's mode for its -wal and -shm."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return True


def make_private(paths: Iterable[Path]) -> list[Path]:
    """Tighten each of `paths` that exists and is readable or writable by others than its owner: a
    directory to 0700, a file to 0600 (symlinks are not followed). Returns the paths changed."""
    changed: list[Path] = []
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
            continue
        wanted = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
        os.chmod(path, stat.S_IMODE(info.st_mode) & wanted)
        changed.append(path)
    return changed


def temp_beside(target: Path, suffix: str = ".part", prefix: str | None = None) -> tuple[int, Path]:
    """A new, empty temp file (mode 0600) in `target`'s directory, for a write that is renamed over
    `target` once complete; returns its open descriptor and its path. The caller removes it on failure."""
    directory = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=prefix or f".{target.name}.", suffix=suffix, dir=ensure_dir(directory))
    return fd, Path(name)


def fsync_path(path: Path) -> None:
    """Flush a closed file's contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_directory(directory: Path) -> None:
    """Make renames into `directory` durable (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(temp: Path, target: Path) -> None:
    """Rename a complete, synced temp file over `target`. Several renames into one directory are made
    durable together by one `sync_directory` afterwards."""
    os.replace(temp, target)


@contextmanager
def atomic_file(target: Path, *, mode: int | None = None, suffix: str = ".part") -> Iterator[BinaryIO]:
    """Write `target` whole or not at all: yields a binary file (a temp file beside `target`); on a clean
    exit it is synced, renamed over `target`, and the directory synced; on any error it is removed and
    `target` is left as it was. `mode` sets the file's permissions (default 0600)."""
    fd, temp = temp_beside(target, suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    sync_directory(temp.parent)


def write_atomic(target: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """`atomic_file` for contents already in memory (text is written as UTF-8)."""
    with atomic_file(target, mode=mode, suffix=".tmp") as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)
