"""Files that are never seen half-written: every write batchboard makes to disk goes through here.

A file is written as a temp file in its own directory, synced, renamed over the target, and the directory
synced, so a crash leaves the old file or the new one, never a mixture. New files are created 0600
(`tempfile.mkstemp`'s mode, whatever the umask); the directories they go in are made by `ensure_dir`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def ensure_dir(directory: Path) -> Path:
    """Create `directory` (and its parents) if missing; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    return directory


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
