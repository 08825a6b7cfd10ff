"""Making a batch's results available locally: one streamed download per batch, indexed as it arrives.

`ingest` fetches a batch's results once (results never change) through the SDK's streaming response and,
in one pass over the bytes, writes the raw JSONL to `results_dir()/<batch_id>.jsonl` and indexes every
line in the batch's items file, with the line's byte offset and length in the raw file, so one item opens
with a single seek. Memory stays bounded (one network chunk plus a few thousand pending rows). It is
synchronous and meant for a thread: it takes a progress callback and a cancel event, retries a dropped or
truncated download, and never counts a half-written file as done. Archived batches are marked
unavailable; any local copy is kept. A later `ingest` rebuilds a lost items file from a raw file it finds
(no download) rather than trusting it. A failed or cancelled pass removes only its temp files: the last
complete state stays until `writers.commit` replaces it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchboard.core import fsio
from batchboard.core.config import Settings
from batchboard.core.format import plural
from batchboard.core.gateway.errors import classify
from batchboard.core.models import Batch
from batchboard.core.results.index import FileState, ResultsIndex
from batchboard.core.results.parse import Pass, Truncated
from batchboard.core.results.source import ChunkSource, file_chunks
from batchboard.core.results.usable import OutputCheck, load_checks
from batchboard.core.results.writers import Dates, ItemsWriter, RawWriter, commit

if TYPE_CHECKING:
    from batchboard.core.gateway.client import Anthropic

STALE_TEMP_SECONDS = 3600


class IngestCancelled(Exception):
    """The user cancelled; nothing was kept."""


class IngestError(Exception):
    """Ingestion failed; the message says what happened in plain words (untrusted parts included)."""


@dataclass(frozen=True, slots=True)
class IngestProgress:
    bytes_done: int
    items_done: int
    items_expected: int | None
    attempt: int

    @property
    def fraction(self) -> float | None:
        if not self.items_expected:
            return None
        return min(1.0, self.items_done / self.items_expected)


@dataclass(frozen=True, slots=True)
class IngestReport:
    batch_id: str
    state: FileState
    path: Path | None
    items: int
    bytes: int
    invalid: int
    downloaded: bool
    """False when the index was built (or already complete) from the local copy."""
    attempts: int
    seconds: float
    message: str = ""


ProgressCallback = Callable[[IngestProgress], None]


def ingest(
    batch_id: str,
    index: ResultsIndex,
    *,
    client: Anthropic | None = None,
    batch: Batch | None = None,
    source: ChunkSource | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> IngestReport:
    """Make a batch's results available locally: download + index once, or reuse what is there.

    `batch` is the batch as last retrieved (retrieved through `client` when None). With a complete local
    copy nothing is downloaded; with a local file but no items file, the items are indexed from the file.
    Raises IngestCancelled or IngestError; on either, no partial file is left behind, and what an earlier
    ingestion completed (items file, groups, usage sums, record) stays as it was.
    """
    started = time.perf_counter()
    index.migrate()
    existing = index.file(batch_id)
    path = index.raw_path(batch_id)
    local = index.local_copy(batch_id, existing)
    if existing is not None and existing.state is FileState.COMPLETE and local is not None:
        if index.items_path(batch_id).is_file():
            return IngestReport(
                batch_id,
                FileState.COMPLETE,
                local,
                existing.items,
                existing.bytes,
                existing.invalid,
                False,
                0,
                0.0,
            )
        # Complete once, items file lost: rebuild it from the raw file with what the record knows,
        # without asking the API.
        dates = (existing.created_at, existing.ended_at, existing.archived_at)
        return _index_local_copy(
            batch_id,
            index,
            local,
            dates,
            settings,
            progress,
            cancel,
            existing.items or None,
            now,
            started,
        )
    if batch is None:
        if client is None:
            raise IngestError("no client to look the batch up with")
        batch = _retrieve(client, batch_id)
    if not batch.is_ended:
        raise IngestError(
            f"batch {batch_id} has not ended yet ({batch.processing_status}); results come at the end"
        )
    expected = batch.counts.total or None
    dates = (batch.created_at, batch.ended_at, batch.archived_at)

    if local is not None:  # a local copy (perhaps from before a crash, or an archived batch): index it
        return _index_local_copy(
            batch_id, index, local, dates, settings, progress, cancel, expected, now, started
        )

    if batch.archived_at is not None:
        message = "results were archived by the API (29 days after creation) and no local copy exists"
        index.mark_unavailable(batch, message, now())
        return IngestReport(
            batch_id, FileState.UNAVAILABLE, None, 0, 0, 0, False, 0, time.perf_counter() - started, message
        )

    if source is None:
        if client is None:
            raise IngestError("no client to download the results with")
        from batchboard.core.gateway.results import sdk_chunks

        source = sdk_chunks(client, batch_id)

    fsio.ensure_dir(path.parent)
    _remove_stale_temps(path.parent, batch_id)
    checks = load_checks(index.store, batch_id).by_custom_id  # what its stored requests ask for, if any
    last_problem = ""
    last_advice = ""
    for attempt in range(1, attempts + 1):
        fd, temp = fsio.temp_beside(path, ".part", prefix=f".{batch_id}.")
        items_temp = temp.with_suffix(".items.part")
        try:
            with os.fdopen(fd, "wb") as out:
                state = _run_pass(
                    batch_id, settings, checks, source, progress, cancel, expected, attempt, out, items_temp
                )
            fsio.replace(temp, path)
            index._install_items(batch_id, items_temp)
            fsio.sync_directory(path.parent)  # both renames on disk before the record says "complete"
        except Truncated as exc:
            _discard(temp, items_temp)
            last_problem = str(exc)
            last_advice = ""
        except Exception as exc:
            _discard(temp, items_temp)
            if isinstance(exc, IngestCancelled):
                raise
            failure = classify(exc, path=path)  # a failed write names no file: this one is being written
            if not failure.retryable:
                raise IngestError(failure.in_full) from exc
            last_problem = failure.message
            last_advice = failure.advice
        except BaseException:  # KeyboardInterrupt, a worker being torn down: still leave nothing behind
            _discard(temp, items_temp)
            raise
        else:
            commit(index, batch_id, dates, path, state, now())
            return _complete_report(batch_id, path, state, True, attempt, started)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    raise IngestError(
        f"could not download the results of {batch_id} after {plural(attempts, 'attempt')}: {last_problem}. "
        f"Nothing was kept. {last_advice or 'Try again later.'}"
    )


def _complete_report(
    batch_id: str, path: Path, state: Pass, downloaded: bool, attempts: int, started: float
) -> IngestReport:
    return IngestReport(
        batch_id,
        FileState.COMPLETE,
        path,
        state.line,
        state.offset,
        state.invalid,
        downloaded,
        attempts,
        time.perf_counter() - started,
    )


def _index_local_copy(
    batch_id: str,
    index: ResultsIndex,
    path: Path,
    dates: Dates,
    settings: Settings | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    expected: int | None,
    now: Callable[[], datetime],
    started: float,
) -> IngestReport:
    checks = load_checks(index.store, batch_id).by_custom_id
    directory = fsio.ensure_dir(index.items_path(batch_id).parent)  # the raw file may be elsewhere
    _remove_stale_temps(directory, batch_id)
    fd, items_temp = fsio.temp_beside(index.items_path(batch_id), ".items.part", prefix=f".{batch_id}.")
    os.close(fd)
    try:
        with open(path, "rb") as handle:
            state = _run_pass(
                batch_id,
                settings,
                checks,
                lambda: file_chunks(handle),
                progress,
                cancel,
                expected,
                1,
                None,
                items_temp,
            )
        index._install_items(batch_id, items_temp)
        fsio.sync_directory(directory)
    except Truncated as exc:
        _discard(None, items_temp)
        raise IngestError(
            f"the local copy {path} is incomplete ({exc}); delete it and download again"
        ) from exc
    except BaseException:
        _discard(None, items_temp)
        raise
    commit(index, batch_id, dates, path, state, now())
    return _complete_report(batch_id, path, state, False, 0, started)


def _remove_stale_temps(directory: Path, batch_id: str) -> None:
    """Temp files of the batch left by a process that was killed mid-ingest (a live one keeps writing to
    its own, so anything untouched for STALE_TEMP_SECONDS is an orphan)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for leftover in directory.glob(f".{batch_id}.*.part"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass  # gone already, or not ours to remove: it never counts as done either way


def _discard(temp: Path | None, items_temp: Path) -> None:
    """After a failed pass: its temp files go. What an earlier pass completed (items file, groups, usage
    sums, record) stays as it was: `_commit` replaces it all at once, and only on success."""
    if temp is not None:
        temp.unlink(missing_ok=True)
    items_temp.unlink(missing_ok=True)


def _run_pass(
    batch_id: str,
    settings: Settings | None,
    checks: dict[str, OutputCheck],
    source: ChunkSource,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    expected: int | None,
    attempt: int,
    out: Any,
    items_temp: Path,
) -> Pass:
    """One pass: raw bytes to `out` (synced to disk) and the items file written and synced at
    `items_temp`. The caller renames both into place, then records the batch as complete."""
    writer = ItemsWriter(items_temp)
    state = Pass(batch_id, writer, settings, checks)
    last_report = 0.0
    raw = RawWriter(out)
    try:
        with source() as chunks:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    raise IngestCancelled(batch_id)
                raw.write(chunk)
                state.feed(chunk)
                if progress is not None:
                    now = time.monotonic()
                    if now - last_report >= 0.05:
                        last_report = now
                        progress(
                            IngestProgress(state.offset + len(state.pending), state.line, expected, attempt)
                        )
        if cancel is not None and cancel.is_set():
            raise IngestCancelled(batch_id)
        raw.sync()  # the raw file's last writes and fsync run while SQLite indexes (both release the GIL)
        state.finish()
        raw.wait()
    except BaseException:
        raw.abort()
        writer.discard()
        raise
    finally:
        state.values = []  # on error the caller removes what was stored; drop what was not
    if expected is not None and state.line < expected:
        raise Truncated(f"the download stopped early ({state.line:,} of {plural(expected, 'result')})")
    if progress is not None:
        progress(IngestProgress(state.offset, state.line, expected, attempt))
    return state


def _retrieve(client: Anthropic, batch_id: str) -> Batch:
    from batchboard.core.gateway.results import retrieve_batch

    try:
        return retrieve_batch(client, batch_id)
    except Exception as exc:
        raise IngestError(f"could not look up batch {batch_id}: {classify(exc).message}") from exc
