"""Writing a batch's results: the raw JSONL (from a helper thread, synced), the items file (a temporary
SQLite file loaded in multi-row statements, indexed once, synced), and `commit`, the one transaction that
records groups, usage sums and the file record once both files are in place.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchboard.core import fsio
from batchboard.core.pricing import TOKEN_KINDS, ModelPrice, Rates
from batchboard.core.results.schema import ITEMS_INDEX, ITEMS_SCHEMA, LEGACY_ITEMS_INDEX, LEGACY_ITEMS_SCHEMA
from batchboard.core.store import to_db_time

if TYPE_CHECKING:
    from datetime import datetime

    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.results.parse import Pass

ROWS_PER_STATEMENT = 500
BULK_CACHE_KIB = 16 * 1024
RAW_BATCH_BYTES = 2 * 1024 * 1024
RAW_BATCH_BUFFERS = 64
RAW_QUEUE_BATCHES = 4

Dates = tuple["datetime | None", "datetime | None", "datetime | None"]
"""A batch's created_at, ended_at and archived_at, as recorded with its results."""


def price_row(model: str, price: ModelPrice) -> tuple[Any, ...]:
    """A `prices` row of the items file: per-token rates (USD), in TOKEN_KINDS order within each set."""

    def per_token(rates: Rates) -> tuple[float, ...]:
        return tuple(getattr(rates, k) / 1_000_000 for k in TOKEN_KINDS)

    batch = price.at_batch()
    standard = per_token(price.rates)
    discounted = per_token(batch.rates)
    if price.long_rates is None or batch.long_rates is None:
        return (model, None, *standard, *discounted, *standard, *discounted)
    return (
        model,
        price.long_prompt_threshold,
        *standard,
        *discounted,
        *per_token(price.long_rates),
        *per_token(batch.long_rates),
    )


#: Values bound per row: line, custom_id, result_type, error_type, error_message, model, stop_reason,
#: the five token counts, offset, length, unusable. The `items` view computes the rest (long_prompt and
#: both costs). `unusable_detail` is set afterwards for the few rows that have one (`add_details`): binding
#: a NULL for every row costs more than a quarter of the inserts' time.
ROW_VALUES = 15
_ROW_NAMES = (
    "line, custom_id, result_type, error_type, error_message, model, stop_reason, input_tokens, "
    "output_tokens, cache_write_5m, cache_write_1h, cache_read, offset, length, unusable"
)

Usage = dict[tuple[str, int], list[int]]
"""(model, long prompt) -> [requests, input, output, cache writes 5m and 1h, cache reads]."""
UnusableUsage = dict[tuple[str, str, int], list[int]]
"""The same per (class, model, long prompt), for the succeeded lines that are unusable."""
UnusableGroups = dict[str, list[Any]]
"""Class -> [count, the first line's detail]."""


def _insert_sql(rows: int) -> str:
    """Insert `rows` rows of `ROW_VALUES` values into `item_rows` (the `items` view prices them)."""
    one = "(" + ",".join("?" * ROW_VALUES) + ")"
    return f"INSERT INTO item_rows ({_ROW_NAMES}) VALUES {','.join([one] * rows)}"


_INSERT_FULL = _insert_sql(ROWS_PER_STATEMENT)


class ItemsWriter:
    """A batch's items file being written: a temporary SQLite file with no journal (it is thrown away
    whole on any failure), loaded in multi-row statements and indexed once loaded."""

    def __init__(self, temp: Path, *, legacy: bool = False) -> None:
        self.temp = temp
        self.index_sql = LEGACY_ITEMS_INDEX if legacy else ITEMS_INDEX
        fsio.create_private(temp)  # 0600 whatever the umask: it holds the model's answers
        self.db = sqlite3.connect(temp, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")  # one fsync at the end, before the rename
            self.db.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
            self.db.executescript(LEGACY_ITEMS_SCHEMA if legacy else ITEMS_SCHEMA)
            self.db.execute("BEGIN")
        except BaseException:
            self.db.close()
            raise

    def add_price(self, row: tuple[Any, ...]) -> None:
        self.db.execute(f"INSERT INTO prices VALUES ({','.join('?' * len(row))})", row)

    def insert(self, values: list[Any]) -> None:
        """Insert rows given as one flat list of `ROW_VALUES` values per row."""
        step = ROWS_PER_STATEMENT * ROW_VALUES
        full = len(values) - len(values) % step
        execute = self.db.execute
        for start in range(0, full, step):
            execute(_INSERT_FULL, values[start : start + step])
        if full < len(values):
            execute(_insert_sql((len(values) - full) // ROW_VALUES), values[full:])

    def add_details(self, details: list[tuple[str, int]]) -> None:
        """Set the unusable_detail of rows inserted already: (detail, line) pairs."""
        self.db.executemany("UPDATE item_rows SET unusable_detail = ? WHERE line = ?", details)

    def finish(self) -> None:
        """Index the items, commit, sync the file to disk and close it. (The usage sums are the caller's:
        the parse adds them up as it reads; `usage_sums` reads them off a finished file.)"""
        db = self.db
        for sql in self.index_sql:
            db.execute(sql)
        db.execute("COMMIT")
        db.close()
        fsio.fsync_path(self.temp)

    def discard(self) -> None:
        self.db.close()
        self.temp.unlink(missing_ok=True)


_SUMS = (
    "count(*), sum(input_tokens), sum(output_tokens), sum(cache_write_5m), sum(cache_write_1h), "
    "sum(cache_read)"
)


def usage_sums(db: sqlite3.Connection) -> tuple[Usage, UnusableUsage]:
    """The usage sums of an items file's succeeded items per (model, long prompt), and of its unusable
    ones per (class, model, long prompt): one scan, and one over the (few) unusable rows."""
    usage: Usage = {
        (r[0], r[1]): list(r[2:])
        for r in db.execute(
            f"SELECT model, long_prompt, {_SUMS} FROM items "
            "WHERE result_type = 'succeeded' AND model IS NOT NULL GROUP BY model, long_prompt"
        )
    }
    unusable: UnusableUsage = {
        (r[0], r[1], r[2]): list(r[3:])
        for r in db.execute(
            f"SELECT unusable, model, long_prompt, {_SUMS} FROM items WHERE unusable != '' "
            "AND +result_type = 'succeeded' AND model IS NOT NULL GROUP BY unusable, model, long_prompt"
        )
    }
    return usage, unusable


def unusable_groups(db: sqlite3.Connection) -> UnusableGroups:
    """Class -> [count, first detail] of an items file's unusable lines (off their partial index)."""
    groups: UnusableGroups = {}
    for unusable, count, first in db.execute(
        "SELECT unusable, count(*), min(line) FROM items WHERE unusable != '' "
        "AND +result_type = 'succeeded' AND +error_type = '' GROUP BY unusable"
    ).fetchall():
        detail = db.execute("SELECT unusable_detail FROM items WHERE line = ?", (first,)).fetchone()
        groups[unusable] = [count, detail[0] if detail else None]
    return groups


def record_unusable(
    db: sqlite3.Connection, batch_id: str, groups: UnusableGroups, usage: UnusableUsage
) -> None:
    """Replace the batch's unusable counts and usage sums in the store (inside the caller's transaction)."""
    db.execute("DELETE FROM result_unusable WHERE batch_id = ?", (batch_id,))
    db.execute("DELETE FROM result_unusable_usage WHERE batch_id = ?", (batch_id,))
    db.executemany(
        "INSERT INTO result_unusable VALUES (?, ?, ?, ?)",
        [(batch_id, unusable, v[0], v[1]) for unusable, v in groups.items()],
    )
    db.executemany(
        "INSERT INTO result_unusable_usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(batch_id, u, model, band, *sums) for (u, model, band), sums in usage.items()],
    )


class RawWriter:
    """Writes the raw bytes to `out` from a helper thread, then syncs them to disk.

    A write to the page cache costs as much as parsing the same bytes here (about 0.2 s for 60 MB), and
    the GIL is released while the kernel copies, so the copying overlaps with parsing on the other core.
    Chunks go over in batches (a few MB, a handful of buffers for one `writev`), so the thread waits for
    the GIL a few dozen times a batch of results rather than once per network chunk; the queue is bounded,
    so memory is too. `out` None (indexing a local copy) writes nothing."""

    def __init__(self, out: Any) -> None:
        self.fd: int | None = out.fileno() if out is not None else None
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=RAW_QUEUE_BATCHES)
        self.thread: threading.Thread | None = None
        if self.fd is not None:
            self.thread = threading.Thread(target=self._run, args=(self.fd,), name="results-raw", daemon=True)
            self.thread.start()

    def write(self, chunk: bytes) -> None:
        if self.fd is None:
            return
        if self.error is not None:
            raise self.error
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= RAW_BATCH_BYTES or len(self.pending) >= RAW_BATCH_BUFFERS:
            self.queue.put(self.pending)
            self.pending = []
            self.pending_bytes = 0

    def sync(self) -> None:
        """Hand over the last bytes and ask for an fsync; `wait` for both."""
        if self.fd is not None:
            if self.pending:
                self.queue.put(self.pending)
                self.pending = []
            self.queue.put(_SYNC)

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop writing (the caller removes the file); returns once the thread is gone."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None

    def _run(self, fd: int) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:  # keep taking batches so that the producer never blocks on a
                if item is _SYNC:  # full queue: it raises the error on its next write, or in `wait`
                    return
                continue
            try:
                if item is _SYNC:
                    os.fsync(fd)
                    return
                _write_all(fd, item)
            except BaseException as exc:
                self.error = exc


_SYNC = object()


def _write_all(fd: int, buffers: list[bytes]) -> None:
    views = [memoryview(b) for b in buffers if b]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def commit(index: ResultsIndex, batch_id: str, dates: Dates, path: Path, state: Pass, now: datetime) -> None:
    """Groups, usage sums and the file record, in one transaction: only now does the batch count as done."""
    created_at, ended_at, archived_at = dates
    with index.store.transaction() as db:
        record_unusable(db, batch_id, state.unusable, state.unusable_usage)
        db.execute("DELETE FROM result_groups WHERE batch_id = ?", (batch_id,))
        db.execute("DELETE FROM result_usage WHERE batch_id = ?", (batch_id,))
        db.executemany(
            "INSERT INTO result_groups VALUES (?, ?, ?, ?, ?)",
            [(batch_id, rt, et, v[0], v[1]) for (rt, et), v in state.groups.items()],
        )
        db.executemany(
            "INSERT INTO result_usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(batch_id, model, band, *sums) for (model, band), sums in state.usage.items()],
        )
        db.execute(
            "INSERT OR REPLACE INTO result_files VALUES (?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                batch_id,
                str(path),
                state.offset,
                state.line,
                state.invalid,
                to_db_time(created_at) if created_at else None,
                to_db_time(ended_at) if ended_at else None,
                to_db_time(archived_at) if archived_at else None,
                to_db_time(now),
            ),
        )
