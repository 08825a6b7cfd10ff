"""Batch results on disk and in the index: one streamed download per batch, then instant triage queries.

`ingest` fetches a batch's results once (results never change) through the SDK's streaming response and,
in one pass over the bytes, writes the raw JSONL to `results_dir()/<batch_id>.jsonl` and indexes every
line in SQLite: custom_id, result and error type, error message, model, stop reason, every usage field,
the cost at batch and standard prices, and the line's byte offset and length in the raw file, so one item
opens with a single seek. Memory stays bounded (one network chunk plus a few thousand pending rows);
lines are parsed with orjson. It is synchronous and meant for a thread: it takes a progress callback and
a cancel event, retries a dropped or truncated download, and never counts a half-written file as done.
Archived batches are marked unavailable; any local copy is kept.

Storage. A batch's items go to their own SQLite file, `<batch_id>.items.sqlite3` next to the raw file:
written as a temp file without a journal, indexed once loaded (a heap plus one index built in a single
sort costs half as much as keeping a b-tree ordered while 100,000 rows stream in), synced, renamed into
place. The shared store keeps the small per-batch tables: the file record, the groups with their counts
and the usage sums behind every cost figure. The record is written last, in one transaction, after both
files are in place (and the directory synced); until then the batch is not done, and a later `ingest`
rebuilds the items file from a raw file it finds (no download) rather than trusting it. A failed or
cancelled pass removes only its temp files: the last complete state stays until `_commit` replaces it.
Databases from before items files had every item in one shared table; `ResultsIndex.migrate` (run in a
thread, by `ingest` first) moves those rows to items files, then drops the table.

`ResultsIndex` answers the triage views: problem groups with counts, a group's items (custom_id filter,
keyset paging), one item by custom_id, one item's raw line, every item's outcome in file order (retries,
jobs), usage sums for cost. Nothing else reads the items files.

Everything read from results (custom_ids, error messages, model output) is untrusted text.
"""

from __future__ import annotations

import errno
import os
import queue
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchboard.core import paths
from batchboard.core.config import Settings
from batchboard.core.cost import UsageGroup
from batchboard.core.models import Batch
from batchboard.core.pricing import TOKEN_KINDS, ModelPrice, Rates, TokenCounts, price_for
from batchboard.core.store import Store, from_db_time, register_schema, to_db_time

if TYPE_CHECKING:
    from anthropic import Anthropic


RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
INVALID = "invalid"
"""Result type recorded for a line that is not a valid result object (kept, so nothing is silently lost)."""

#: Error types worth retrying unchanged; `invalid_request_error` and the rest need a fix first.
RETRYABLE_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})

CHUNK_SIZE = 256 * 1024
PREFETCH_CHUNKS = 8
ROWS_PER_INSERT = 10_000
ROWS_PER_STATEMENT = 500
BULK_CACHE_KIB = 16 * 1024
DEFAULT_PAGE = 200
ITEMS_SUFFIX = ".items.sqlite3"
STALE_TEMP_SECONDS = 3600
RAW_BATCH_BYTES = 2 * 1024 * 1024
RAW_BATCH_BUFFERS = 64
RAW_QUEUE_BATCHES = 4
OPEN_ITEMS_FILES = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS result_files (
    batch_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,            -- 'complete' or 'unavailable'
    path TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0,
    created_at TEXT,
    ended_at TEXT,
    archived_at TEXT,
    ingested_at TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS result_groups (
    batch_id TEXT NOT NULL,
    result_type TEXT NOT NULL,
    error_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    sample_message TEXT,
    PRIMARY KEY (batch_id, result_type, error_type)
);
CREATE TABLE IF NOT EXISTS result_usage (
    batch_id TEXT NOT NULL,
    model TEXT NOT NULL,
    long_prompt INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read INTEGER NOT NULL,
    PRIMARY KEY (batch_id, model, long_prompt)
);
"""
register_schema("results", SCHEMA)

RESULTS_VERSION = 2
"""Layout of the results tables, kept under `RESULTS_VERSION_KEY` in the store's `meta` table. 1: every
batch's items were rows of one shared table, `result_items`; 2: each batch has its own items file
(ITEMS_SCHEMA). `ResultsIndex.migrate` moves a database from 1 to 2; it is slow for a big database, so it
runs in a thread (`ingest` runs it first), never when the store or the index is opened."""
RESULTS_VERSION_KEY = "results_version"
LEGACY_ITEMS_TABLE = "result_items"
MIGRATION_PAGE = 5000
VACUUM_FREE_FRACTION = 0.25
"""Reclaim the dropped table's space once at least this share of the database's pages is free."""

MAX_TOKEN_COUNT = 2**40
"""A line's token count above this is not believed (the line is kept, flagged invalid): far above any real
request, and low enough that a whole batch's sums stay within SQLite's 64-bit integers."""

#: The columns of the shared table of version 1, in the order of the items file's `items` table.
_LEGACY_COLUMNS = (
    "line, custom_id, result_type, error_type, error_message, model, stop_reason, input_tokens, "
    "output_tokens, cache_write_5m, cache_write_1h, cache_read, long_prompt, cost_batch, cost_standard, "
    "offset, length"
)

#: SQL of the items view: the long-prompt band and the costs, from the `prices` row of the line's model.
_LONG = (
    "(p.threshold IS NOT NULL AND r.input_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read "
    "> p.threshold)"
)


def _view_cost(prefix: str) -> str:
    # Left to right, as Python would sum it: the figures equal those computed from the same rates in Python.
    columns = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read")
    rates = ("input", "output", "write_5m", "write_1h", "read")
    return " + ".join(f"r.{c} * p.{prefix}_{k}" for c, k in zip(columns, rates, strict=True))


_COST_BAT, _COST_LONG_BAT = _view_cost("bat"), _view_cost("long_bat")
_COST_STD, _COST_LONG_STD = _view_cost("std"), _view_cost("long_std")

_PRICES_DDL = """
-- The per-token prices (USD) the costs are computed with, one row per model seen in the batch.
-- `threshold`: input tokens above which the long-prompt rates (long_*) apply; NULL when the model has none.
CREATE TABLE prices (
    priced_model TEXT PRIMARY KEY,
    threshold INTEGER,
    std_input REAL, std_output REAL, std_write_5m REAL, std_write_1h REAL, std_read REAL,
    bat_input REAL, bat_output REAL, bat_write_5m REAL, bat_write_1h REAL, bat_read REAL,
    long_std_input REAL, long_std_output REAL, long_std_write_5m REAL, long_std_write_1h REAL,
    long_std_read REAL,
    long_bat_input REAL, long_bat_output REAL, long_bat_write_5m REAL, long_bat_write_1h REAL,
    long_bat_read REAL
);
"""

#: The columns of an item in the items file: what the line says, then where it sits in the raw file.
_ROW_COLUMNS = """\
    line INTEGER PRIMARY KEY,       -- 0-based; blank lines are not counted
    custom_id TEXT NOT NULL,
    result_type TEXT NOT NULL,
    error_type TEXT NOT NULL,       -- '' unless errored
    error_message TEXT,
    model TEXT,
    stop_reason TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read INTEGER NOT NULL,
"""
_PLACE_COLUMNS = """\
    offset INTEGER NOT NULL,        -- the line's bytes in the raw file (newline included)
    length INTEGER NOT NULL
"""

ITEMS_SCHEMA = f"""
{_PRICES_DDL}
-- One row per result line. A heap in file order (line is the rowid), indexed by group once loaded.
CREATE TABLE item_rows (
{_ROW_COLUMNS}{_PLACE_COLUMNS});
-- Each line with its long-prompt band and its cost at batch and at standard price (NULL when the model's
-- price is unknown), priced when read: a plain load is ~0.1 s faster per 100,000 lines than pricing each
-- row as it goes in, and the figures are the same (same rates, same order of the sums).
CREATE VIEW items AS SELECT
    r.line, r.custom_id, r.result_type, r.error_type, r.error_message, r.model, r.stop_reason,
    r.input_tokens, r.output_tokens, r.cache_write_5m, r.cache_write_1h, r.cache_read,
    {_LONG} AS long_prompt,
    CASE WHEN p.priced_model IS NULL THEN NULL WHEN {_LONG} THEN {_COST_LONG_BAT} ELSE {_COST_BAT} END
        AS cost_batch,
    CASE WHEN p.priced_model IS NULL THEN NULL WHEN {_LONG} THEN {_COST_LONG_STD} ELSE {_COST_STD} END
        AS cost_standard,
    r.offset, r.length
FROM item_rows r LEFT JOIN prices p ON p.priced_model = r.model;
"""
"""Schema of a batch's items file, `<batch_id>.items.sqlite3` next to its raw JSONL. The file is written
whole by one ingestion (no journal, indexed after the load) and renamed into place before the batch is
recorded as complete, so it is never read half-written and never changes afterwards."""

#: A group's items page straight off this index, in custom_id then line (the rowid, implied) order.
ITEMS_INDEX = "CREATE INDEX items_by_group ON item_rows (result_type, error_type, custom_id)"
LEGACY_ITEMS_INDEX = "CREATE INDEX items_by_group ON items (result_type, error_type, custom_id)"

#: Items files written by the migration of version 1 (`ResultsIndex.migrate`) keep the stored costs of the
#: old table: `items` is a table there, with the same columns as the view of ITEMS_SCHEMA.
LEGACY_ITEMS_SCHEMA = f"""
{_PRICES_DDL}
-- One row per result line. A heap in file order (line is the rowid), indexed by group once loaded.
CREATE TABLE items (
{_ROW_COLUMNS}    long_prompt INTEGER NOT NULL,
    cost_batch REAL,                -- NULL when the model's price is unknown or not billed
    cost_standard REAL,
{_PLACE_COLUMNS});
"""


# ------------------------------------------------------------------------------------------ value types


class Retryability(StrEnum):
    RETRYABLE = "retryable"
    NEEDS_FIX = "needs fix"
    ON_REQUEST = "on request"  # canceled: retried only when the user asks
    NOT_APPLICABLE = "-"  # succeeded


def retryability(result_type: str, error_type: str = "") -> Retryability:
    """Whether a group's items can be resubmitted unchanged (the resubmit issue acts on this)."""
    if result_type == "expired":
        return Retryability.RETRYABLE
    if result_type == "canceled":
        return Retryability.ON_REQUEST
    if result_type == "errored":
        return Retryability.RETRYABLE if error_type in RETRYABLE_ERRORS else Retryability.NEEDS_FIX
    if result_type == INVALID:
        return Retryability.NEEDS_FIX
    return Retryability.NOT_APPLICABLE


@dataclass(frozen=True, slots=True)
class GroupKey:
    result_type: str
    error_type: str = ""

    @property
    def label(self) -> str:
        return self.error_type or self.result_type


@dataclass(frozen=True, slots=True)
class ResultGroup:
    key: GroupKey
    count: int
    sample_message: str | None = None

    @property
    def retryability(self) -> Retryability:
        return retryability(self.key.result_type, self.key.error_type)

    @property
    def retryable(self) -> bool:
        return self.retryability is Retryability.RETRYABLE

    @property
    def is_problem(self) -> bool:
        return self.key.result_type != "succeeded"


@dataclass(frozen=True, slots=True)
class ResultItem:
    batch_id: str
    line: int
    custom_id: str
    result_type: str
    error_type: str
    error_message: str | None
    model: str | None
    stop_reason: str | None
    tokens: TokenCounts
    cost_batch: float | None
    offset: int
    length: int

    @property
    def cursor(self) -> tuple[str, int]:
        """Keyset cursor: pass as `after` to get the next page."""
        return (self.custom_id, self.line)


class FileState(StrEnum):
    COMPLETE = "complete"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ResultsFile:
    """What the index knows about one batch's results."""

    batch_id: str
    state: FileState
    path: Path | None
    bytes: int
    items: int
    invalid: int
    created_at: datetime | None
    ended_at: datetime | None
    archived_at: datetime | None
    ingested_at: datetime | None
    message: str | None

    @property
    def indexed(self) -> bool:
        """Items are queryable: a complete ingestion happened (possibly before the batch was archived)."""
        return self.items > 0 or self.state is FileState.COMPLETE


# ------------------------------------------------------------------------------------------ the index


class ResultsIndex:
    """Index queries over a `Store` (file records, groups and usage sums are registered with it) and over
    each batch's items file in the results directory."""

    def __init__(self, store: Store, directory: Path | None = None) -> None:
        store.ensure_schemas()
        self.store = store
        self._directory = directory
        self._items_lock = threading.RLock()
        self._items_open: dict[str, tuple[tuple[int, int, int], sqlite3.Connection]] = {}
        self._migrate_lock = threading.Lock()
        self._migrated = False

    def __enter__(self) -> ResultsIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def directory(self) -> Path:
        return self._directory or paths.results_dir()

    def raw_path(self, batch_id: str) -> Path:
        return self.directory / f"{_checked(batch_id)}.jsonl"

    def items_path(self, batch_id: str) -> Path:
        return self.directory / f"{_checked(batch_id)}{ITEMS_SUFFIX}"

    # ---------------------------------------------------------------------------------- file status

    def file(self, batch_id: str) -> ResultsFile | None:
        rows = self.store.query(
            "SELECT batch_id, state, path, bytes, items, invalid, created_at, ended_at, archived_at, "
            "ingested_at, message FROM result_files WHERE batch_id = ?",
            (batch_id,),
        )
        return _results_file(rows[0]) if rows else None

    def files(self) -> dict[str, ResultsFile]:
        rows = self.store.query(
            "SELECT batch_id, state, path, bytes, items, invalid, created_at, ended_at, archived_at, "
            "ingested_at, message FROM result_files"
        )
        return {row[0]: _results_file(row) for row in rows}

    def local_copy(self, batch_id: str, info: ResultsFile | None = None) -> Path | None:
        """The batch's raw file if it is on disk: in this results directory, or else where it was recorded
        (a data directory moved since, or chosen by `BATCHBOARD_DATA_DIR` for one run)."""
        path = self.raw_path(batch_id)
        if path.is_file():
            return path
        if info is None:
            info = self.file(batch_id)
        if info is not None and info.path is not None and info.path.is_file():
            return info.path
        return None

    def has_local_copy(self, batch_id: str) -> bool:
        """Complete, with the raw file here: `ingest` needs no network (it rebuilds a missing items file)."""
        info = self.file(batch_id)
        return (
            info is not None
            and info.state is FileState.COMPLETE
            and self.local_copy(batch_id, info) is not None
        )

    def is_complete(self, batch_id: str) -> bool:
        """Complete, with the raw file and its items file here: every query can be answered."""
        return self.has_local_copy(batch_id) and self.items_path(batch_id).is_file()

    # -------------------------------------------------------------------------------------- triage

    def groups(self, batch_id: str, *, include_succeeded: bool = True) -> list[ResultGroup]:
        """Groups by result and error type, problems first (most items first), succeeded last."""
        rows = self.store.query(
            "SELECT result_type, error_type, count, sample_message FROM result_groups WHERE batch_id = ?",
            (batch_id,),
        )
        groups = [ResultGroup(GroupKey(r[0], r[1]), r[2], r[3]) for r in rows]
        groups = [g for g in groups if include_succeeded or g.is_problem]
        groups.sort(key=lambda g: (not g.is_problem, -g.count, g.key.result_type, g.key.error_type))
        return groups

    def problem_groups(self, batch_id: str) -> list[ResultGroup]:
        return self.groups(batch_id, include_succeeded=False)

    def items(
        self,
        batch_id: str,
        group: GroupKey,
        *,
        contains: str = "",
        after: tuple[str, int] | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> list[ResultItem]:
        """One page of a group's items in custom_id order (index range scan, never a sort)."""
        sql = [f"SELECT {_ITEM_COLUMNS} FROM items WHERE result_type = ? AND error_type = ?"]
        params: list[Any] = [group.result_type, group.error_type]
        if after is not None:
            sql.append("AND (custom_id, line) > (?, ?)")
            params += [after[0], after[1]]
        if contains:
            sql.append("AND instr(custom_id, ?) > 0")
            params.append(contains)
        sql.append("ORDER BY custom_id, line LIMIT ?")
        params.append(limit)
        return [_result_item(batch_id, row) for row in self._query_items(batch_id, " ".join(sql), params)]

    def find(self, batch_id: str, custom_id: str) -> ResultItem | None:
        """One item by custom_id: a key lookup in each group (a batch has a handful of groups)."""
        for group in self.groups(batch_id):
            rows = self._query_items(
                batch_id,
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE result_type = ? AND error_type = ? "
                "AND custom_id = ? ORDER BY line LIMIT 1",
                (group.key.result_type, group.key.error_type, custom_id),
            )
            if rows:
                return _result_item(batch_id, rows[0])
        return None

    def outcomes(self, batch_id: str, *, problems_only: bool = False) -> list[tuple[str, str, str]]:
        """(custom_id, result_type, error_type) of every item (or every one that did not succeed), in
        file order."""
        where = " WHERE result_type != 'succeeded'" if problems_only else ""
        rows = self._query_items(
            batch_id, f"SELECT custom_id, result_type, error_type FROM items{where} ORDER BY line"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def custom_ids(self, batch_id: str) -> list[str]:
        """Every item's custom_id, in file order."""
        return [r[0] for r in self._query_items(batch_id, "SELECT custom_id FROM items ORDER BY line")]

    def cost_sums(self, batch_id: str) -> tuple[float, float]:
        """The batch's items' costs summed: (at batch prices, at standard prices); unknown prices count 0."""
        rows = self._query_items(
            batch_id, "SELECT COALESCE(SUM(cost_batch), 0), COALESCE(SUM(cost_standard), 0) FROM items"
        )
        return (float(rows[0][0]), float(rows[0][1])) if rows else (0.0, 0.0)

    def raw_line(self, item: ResultItem) -> bytes:
        """The item's full JSON line from the local raw file (one seek and read); FileNotFoundError when
        the raw file is not here (items kept from an older batchboard's index outlive it)."""
        path = self.local_copy(item.batch_id) or self.raw_path(item.batch_id)
        with open(path, "rb") as handle:
            handle.seek(item.offset)
            return handle.read(item.length)

    def raw_object(self, item: ResultItem) -> Any:
        return orjson.loads(self.raw_line(item))

    def pretty(self, item: ResultItem) -> str:
        """The full result, pretty-printed JSON (for the inspector and copying)."""
        try:
            return orjson.dumps(self.raw_object(item), option=orjson.OPT_INDENT_2).decode("utf-8")
        except FileNotFoundError:
            return RAW_LINE_MISSING
        except orjson.JSONDecodeError:
            return self.raw_line(item).decode("utf-8", errors="replace")

    def lines_of(self, batch_id: str, result_types: Iterable[str] | None = None) -> Iterator[bytes]:
        """Raw lines (with their newline) in file order, optionally only some result types; streamed."""
        path = self.local_copy(batch_id) or self.raw_path(batch_id)
        wanted = set(result_types) if result_types is not None else None
        with open(path, "rb") as handle:
            if wanted is None:
                yield from handle
                return
            for line in handle:
                if _result_type_of(line) in wanted:
                    yield line

    # ------------------------------------------------------------------------------------------ cost

    def usage_groups(self, batch_id: str | None = None) -> list[UsageGroup]:
        sql = (
            "SELECT batch_id, model, long_prompt, requests, input_tokens, output_tokens, cache_write_5m, "
            "cache_write_1h, cache_read FROM result_usage"
        )
        rows = (
            self.store.query(sql + " WHERE batch_id = ?", (batch_id,)) if batch_id else self.store.query(sql)
        )
        return [UsageGroup(r[0], r[1], r[3], TokenCounts(*r[4:9]), bool(r[2])) for r in rows]

    # ------------------------------------------------------------------------------------ items files

    def _query_items(self, batch_id: str, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query on the batch's items file; no rows when it has none (not ingested, or lost)."""
        path = self.items_path(batch_id)
        with self._items_lock:
            try:
                stat = path.stat()
            except FileNotFoundError:
                self.forget(batch_id)
                return []
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            cached = self._items_open.get(batch_id)
            if cached is None or cached[0] != key:
                self.forget(batch_id)
                # Read-only and immutable: the file is replaced by a rename, never written in place, so
                # SQLite can skip locking it; a replaced file is noticed by its inode and reopened.
                uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
                if len(self._items_open) >= OPEN_ITEMS_FILES:
                    self.forget(next(iter(self._items_open)))
                cached = self._items_open[batch_id] = (key, connection)
            return cached[1].execute(sql, parameters).fetchall()

    def forget(self, batch_id: str) -> None:
        """Close the batch's items file if it is open here (before it is replaced or removed)."""
        with self._items_lock:
            cached = self._items_open.pop(batch_id, None)
            if cached is not None:
                cached[1].close()

    def close(self) -> None:
        """Close the open items files (the store is the caller's to close)."""
        with self._items_lock:
            for batch_id in list(self._items_open):
                self.forget(batch_id)

    # ---------------------------------------------------------------------------------------- writing

    def mark_unavailable(self, batch: Batch, message: str, now: datetime) -> None:
        """Remember that the API no longer serves this batch's results; keeps any local copy and index."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO result_files (batch_id, state, created_at, ended_at, archived_at, message) "
                "VALUES (?, 'unavailable', ?, ?, ?, ?) "
                "ON CONFLICT (batch_id) DO UPDATE SET state = CASE WHEN result_files.state = 'complete' "
                "THEN 'complete' ELSE 'unavailable' END, archived_at = excluded.archived_at, "
                "message = excluded.message",
                (
                    batch.id,
                    to_db_time(batch.created_at),
                    to_db_time(batch.ended_at) if batch.ended_at else None,
                    to_db_time(batch.archived_at or now),
                    message,
                ),
            )

    def _install_items(self, batch_id: str, temp: Path) -> None:
        self.forget(batch_id)
        os.replace(temp, self.items_path(batch_id))

    # -------------------------------------------------------------------------------------- migration

    def migrate(self) -> None:
        """Bring the results tables to RESULTS_VERSION. Slow on a big old database: call it in a thread
        (`ingest` does, first). Cheap once done; safe to call from several threads or processes.

        From 1: each batch's rows of the shared `result_items` table are written to its items file
        (temp file, synced, renamed; a batch whose items file is already there is skipped), and only then,
        in one transaction with the new version number, is the table dropped. A crash on the way leaves
        the table as it was, and the next call carries on. The rows keep their byte offsets, so a batch
        whose raw file is gone (archived since) can still be browsed, only not its full lines. The freed
        space is given back to the disk (VACUUM) when it is a large share of the file."""
        if self._migrated:
            return
        with self._migrate_lock:
            if self._migrated:
                return
            self.store.ensure_schemas()
            rows = self.store.query("SELECT value FROM meta WHERE key = ?", (RESULTS_VERSION_KEY,))
            if not rows or int(rows[0][0]) < RESULTS_VERSION:
                if self._has_legacy_table():
                    try:
                        legacy = self.store.query(f"SELECT DISTINCT batch_id FROM {LEGACY_ITEMS_TABLE}")
                        for (batch_id,) in legacy:
                            self._migrate_batch(batch_id)
                    except sqlite3.OperationalError:
                        if self._has_legacy_table():
                            raise
                        # another batchboard on this database finished the move meanwhile
                with self.store.transaction() as db:
                    db.execute(f"DROP TABLE IF EXISTS {LEGACY_ITEMS_TABLE}")
                    db.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (RESULTS_VERSION_KEY, str(RESULTS_VERSION)),
                    )
                self._reclaim_space()
            self._migrated = True

    def _has_legacy_table(self) -> bool:
        return bool(
            self.store.query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEGACY_ITEMS_TABLE,)
            )
        )

    def _migrate_batch(self, batch_id: str) -> None:
        try:
            target = self.items_path(batch_id)
        except ValueError:
            return  # not a name a file can have: nothing of it could ever be shown
        if target.is_file():
            return  # written by an earlier, interrupted migration, or rebuilt from the raw file since
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{batch_id}.", suffix=".items.part", dir=target.parent)
        os.close(fd)
        temp = Path(temp_name)
        writer = _ItemsWriter(temp, legacy=True)
        try:
            self._copy_legacy_rows(batch_id, writer.db)
            writer.finish()
            self._install_items(batch_id, temp)
            _sync_directory(target.parent)
        except BaseException:
            writer.discard()
            raise

    def _copy_legacy_rows(self, batch_id: str, items: sqlite3.Connection) -> None:
        """Copy the batch's rows of the old table into an items file's `items`, in line order (appends to
        its b-tree). SQLite copies them itself from the store's file, attached read-only to the items
        file's connection, so the store's lock (and the UI's queries) are not held meanwhile."""
        where = "WHERE batch_id = ? ORDER BY line"
        if self.store.path is None:  # an in-memory store (tests): no other connection can see it
            rows = self.store.query(
                f"SELECT {_LEGACY_COLUMNS} FROM {LEGACY_ITEMS_TABLE} {where}", (batch_id,)
            )
            items.executemany(f"INSERT INTO items VALUES ({','.join('?' * 17)})", rows)
            return
        items.execute("ATTACH DATABASE ? AS store", (str(self.store.path),))
        try:
            items.execute(
                f"INSERT INTO items SELECT {_LEGACY_COLUMNS} FROM store.{LEGACY_ITEMS_TABLE} {where}",
                (batch_id,),
            )
        finally:
            items.execute("COMMIT")  # DETACH cannot run inside the load's transaction (no journal: no cost)
            items.execute("DETACH DATABASE store")
            items.execute("BEGIN")

    def _reclaim_space(self) -> None:
        with self.store.transaction() as db:
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            total = db.execute("PRAGMA page_count").fetchone()[0]
        if total and free / total >= VACUUM_FREE_FRACTION:
            self.store.vacuum()


RAW_LINE_MISSING = (
    "The full result line is not available: the raw results file is not on this machine (the API no "
    "longer serves it). The fields shown in the list were kept."
)


def _sync_directory(directory: Path) -> None:
    """Make renames into `directory` durable (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checked(batch_id: str) -> str:
    if not batch_id or "/" in batch_id or "\\" in batch_id or batch_id.startswith("."):
        raise ValueError(f"not a batch id: {batch_id!r}")
    return batch_id


_ITEM_COLUMNS = (
    "line, custom_id, result_type, error_type, error_message, model, stop_reason, input_tokens, "
    "output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_batch, offset, length"
)


def _result_item(batch_id: str, r: tuple[Any, ...]) -> ResultItem:
    return ResultItem(
        batch_id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], TokenCounts(*r[7:12]), r[12], r[13], r[14]
    )


def _results_file(r: tuple[Any, ...]) -> ResultsFile:
    def when(text: str | None) -> datetime | None:
        return from_db_time(text) if text else None

    return ResultsFile(
        batch_id=r[0],
        state=FileState(r[1]),
        path=Path(r[2]) if r[2] else None,
        bytes=r[3],
        items=r[4],
        invalid=r[5],
        created_at=when(r[6]),
        ended_at=when(r[7]),
        archived_at=when(r[8]),
        ingested_at=when(r[9]),
        message=r[10],
    )


def _result_type_of(line: bytes) -> str:
    try:
        obj = orjson.loads(line)
        result_type = obj["result"]["type"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return INVALID
    return result_type if result_type in RESULT_TYPES else INVALID


# ----------------------------------------------------------------------------------------- ingestion


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
ChunkSource = Callable[[], AbstractContextManager[Iterable[bytes]]]
"""Opens one download attempt and yields its byte chunks (the SDK's streamed response by default)."""


class _Truncated(Exception):
    pass


def _price_row(model: str, price: ModelPrice) -> tuple[Any, ...]:
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
#: the five token counts, offset, length. The `items` view computes the rest (long_prompt and both costs).
_ROW_VALUES = 14


def _insert_sql(rows: int) -> str:
    """Insert `rows` rows of `_ROW_VALUES` values into `item_rows` (the `items` view prices them)."""
    one = "(" + ",".join("?" * _ROW_VALUES) + ")"
    return f"INSERT INTO item_rows VALUES {','.join([one] * rows)}"


_INSERT_FULL = _insert_sql(ROWS_PER_STATEMENT)


class _ItemsWriter:
    """A batch's items file being written: a temporary SQLite file with no journal (it is thrown away
    whole on any failure), loaded in multi-row statements and indexed once loaded."""

    def __init__(self, temp: Path, *, legacy: bool = False) -> None:
        self.temp = temp
        self.index_sql = LEGACY_ITEMS_INDEX if legacy else ITEMS_INDEX
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
        """Insert rows given as one flat list of `_ROW_VALUES` values per row."""
        step = ROWS_PER_STATEMENT * _ROW_VALUES
        full = len(values) - len(values) % step
        execute = self.db.execute
        for start in range(0, full, step):
            execute(_INSERT_FULL, values[start : start + step])
        if full < len(values):
            execute(_insert_sql((len(values) - full) // _ROW_VALUES), values[full:])

    def finish(self) -> dict[tuple[str, int], list[int]]:
        """Index the items, commit, sync the file to disk and close it; returns the usage sums per
        (model, long prompt) of the succeeded items."""
        db = self.db
        db.execute(self.index_sql)
        usage = {
            (r[0], r[1]): list(r[2:])
            for r in db.execute(
                "SELECT model, long_prompt, count(*), sum(input_tokens), sum(output_tokens), "
                "sum(cache_write_5m), sum(cache_write_1h), sum(cache_read) FROM items "
                "WHERE result_type = 'succeeded' AND model IS NOT NULL GROUP BY model, long_prompt"
            )
        }
        db.execute("COMMIT")
        db.close()
        fd = os.open(self.temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return usage

    def discard(self) -> None:
        self.db.close()
        self.temp.unlink(missing_ok=True)


@dataclass
class _Pass:
    """State of one streamed pass over a results file: parsing, buffering rows for the items file.

    `_index_lines` runs once per result line (100,000 times for a full batch), so it sticks to dict lookups
    on plain values and appends to one flat list; the costs are computed by SQLite as the rows go in."""

    batch_id: str
    writer: _ItemsWriter
    settings: Settings | None
    priced: set[str] = field(default_factory=set)
    values: list[Any] = field(default_factory=list)
    groups: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    usage: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    pending: bytes = b""
    offset: int = 0  # file offset of `pending`'s first byte
    line: int = 0
    invalid: int = 0

    def price(self, model: str) -> None:
        """Record the model's prices (if known) before any of its rows are inserted."""
        self.priced.add(model)
        price = price_for(model, self.settings)
        if price is not None:  # no row of this model is buffered yet: its first is being read
            self.writer.add_price(_price_row(model, price))

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk if self.pending else chunk
        lines = data.split(b"\n")
        self.pending = lines.pop()
        if lines:
            self._index_lines(lines)
        if len(self.values) >= ROWS_PER_INSERT * _ROW_VALUES:
            self.flush()

    def finish(self) -> None:
        if self.pending.strip():
            raise _Truncated("the download ended in the middle of a line")
        self.flush()
        self.usage = self.writer.finish()

    def flush(self) -> None:
        if self.values:
            self.writer.insert(self.values)
            self.values = []

    def _index_lines(self, lines: list[bytes]) -> None:
        """Index complete lines (without their newline) that follow `self.offset` in the file.

        Runs over every line of a batch, so everything it touches is a local name and nothing else is
        called per line but orjson and dict lookups."""
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        extend = self.values.extend
        groups = self.groups
        priced = self.priced
        result_types = _RESULT_TYPE_SET
        empty = _EMPTY
        top = MAX_TOKEN_COUNT
        line = self.line
        offset = self.offset
        for raw in lines:
            length = len(raw) + 1
            if length == 1:  # a blank line: skipped, as it holds no result
                offset += 1
                continue
            custom_id: Any = None
            try:
                obj = loads(raw)
                custom_id = obj["custom_id"]
                result = obj["result"]
                result_type = result["type"]
                if type(custom_id) is not str or result_type not in result_types:
                    raise TypeError("not a result")
            except (decode_error, KeyError, TypeError) as exc:
                self._invalid(
                    line,
                    custom_id,
                    f"line {line + 1} is not a valid result ({type(exc).__name__})",
                    offset,
                    length,
                )
                line += 1
                offset += length
                continue
            error_type = ""
            error_message = model = stop_reason = None
            inp = out = m5 = h1 = read = 0
            try:
                if result_type == "succeeded":
                    message = result["message"]
                    model = message.get("model")
                    stop_reason = message.get("stop_reason")
                    usage = message.get("usage") or empty
                    inp = usage.get("input_tokens") or 0
                    out = usage.get("output_tokens") or 0
                    written = usage.get("cache_creation_input_tokens") or 0
                    read = usage.get("cache_read_input_tokens") or 0
                    breakdown = usage.get("cache_creation")
                    if breakdown:
                        h1 = breakdown.get("ephemeral_1h_input_tokens") or 0
                        m5 = breakdown.get("ephemeral_5m_input_tokens") or 0
                        if written - h1 > m5:
                            m5 = written - h1
                    else:
                        m5 = written
                    # Out of range (or, by a TypeError, not numbers): orjson reads integers up to 2^64.
                    if not (
                        0 <= inp <= top
                        and 0 <= out <= top
                        and 0 <= m5 <= top
                        and 0 <= h1 <= top
                        and 0 <= read <= top
                    ):
                        raise TypeError("token counts out of range")
                    if model is not None:
                        if type(model) is not str:
                            model = str(model)
                        if model not in priced:
                            self.price(model)
                    if stop_reason is not None and type(stop_reason) is not str:
                        stop_reason = str(stop_reason)
                elif result_type == "errored":
                    envelope = result.get("error") or empty
                    inner = envelope.get("error")
                    if not isinstance(inner, dict):
                        inner = envelope
                    error_type = _text(inner.get("type")) or "unknown_error"
                    error_message = _text(inner.get("message"))
            except (AttributeError, TypeError, KeyError):  # right type, wrong shape: keep the line, flag it
                self._invalid(
                    line, custom_id, f"line {line + 1}: the result has an unexpected shape", offset, length
                )
                line += 1
                offset += length
                continue
            group = groups.get((result_type, error_type))
            if group is None:
                groups[(result_type, error_type)] = [1, error_message]
            else:
                group[0] += 1
            extend(
                (
                    line,
                    custom_id,
                    result_type,
                    error_type,
                    error_message,
                    model,
                    stop_reason,
                    inp,
                    out,
                    m5,
                    h1,
                    read,
                    offset,
                    length,
                )
            )
            line += 1
            offset += length
        self.line = line
        self.offset = offset

    def _invalid(self, line: int, custom_id: Any, message: str, offset: int, length: int) -> None:
        self.invalid += 1
        custom_id = custom_id if isinstance(custom_id, str) else f"<line {line + 1}>"
        group = self.groups.get((INVALID, "invalid_line"))
        if group is None:
            self.groups[(INVALID, "invalid_line")] = [1, message]
        else:
            group[0] += 1
        self.values.extend(
            (line, custom_id, INVALID, "invalid_line", message, None, None, 0, 0, 0, 0, 0, offset, length)
        )


_RESULT_TYPE_SET = frozenset(RESULT_TYPES)
_EMPTY: dict[str, Any] = {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def sdk_chunks(client: Anthropic, batch_id: str, chunk_size: int = CHUNK_SIZE) -> ChunkSource:
    """A `ChunkSource` reading the results through the SDK's streaming response (its auth and retries)."""

    @contextmanager
    def open_stream() -> Iterator[Iterable[bytes]]:
        with client.messages.batches.with_streaming_response.results(batch_id) as response:
            yield _prefetched(response.iter_bytes(chunk_size))

    return open_stream


_DONE = object()


def _prefetched(chunks: Iterable[bytes], depth: int = PREFETCH_CHUNKS) -> Iterator[bytes]:
    """Read `chunks` in a helper thread, at most `depth` ahead: the socket waits (which release the GIL)
    overlap with parsing and indexing instead of adding to them. Errors are re-raised in the consumer."""
    pending: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        pending.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pending.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            pending.put(exc)

    reader = threading.Thread(target=read, name="results-download", daemon=True)
    reader.start()
    try:
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


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
            batch_id, index, local, dates, settings, progress, cancel, existing.items or None, now, started
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
        source = sdk_chunks(client, batch_id)

    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path.parent, batch_id)
    last_problem = ""
    for attempt in range(1, attempts + 1):
        fd, temp_name = tempfile.mkstemp(prefix=f".{batch_id}.", suffix=".part", dir=path.parent)
        temp = Path(temp_name)
        items_temp = temp.with_suffix(".items.part")
        try:
            with os.fdopen(fd, "wb") as out:
                state = _run_pass(
                    batch_id, settings, source, progress, cancel, expected, attempt, out, items_temp
                )
            os.replace(temp, path)
            index._install_items(batch_id, items_temp)
            _sync_directory(path.parent)  # both renames on disk before the record says "complete"
        except _Truncated as exc:
            _discard(temp, items_temp)
            last_problem = str(exc)
        except Exception as exc:
            _discard(temp, items_temp)
            if isinstance(exc, IngestCancelled):
                raise
            if not _worth_retrying(exc):
                raise IngestError(_describe(exc)) from exc
            last_problem = _describe(exc)
        except BaseException:  # KeyboardInterrupt, a worker being torn down: still leave nothing behind
            _discard(temp, items_temp)
            raise
        else:
            _commit(index, batch_id, dates, path, state, now())
            return _complete_report(batch_id, path, state, True, attempt, started)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    raise IngestError(
        f"could not download the results of {batch_id} after {attempts} attempts: {last_problem}. "
        "Nothing was kept; try again later."
    )


_Dates = tuple[datetime | None, datetime | None, datetime | None]
"""A batch's created_at, ended_at and archived_at, as recorded with its results."""


def _complete_report(
    batch_id: str, path: Path, state: _Pass, downloaded: bool, attempts: int, started: float
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
    dates: _Dates,
    settings: Settings | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    expected: int | None,
    now: Callable[[], datetime],
    started: float,
) -> IngestReport:
    directory = index.items_path(batch_id).parent  # the raw file may be elsewhere (a moved data directory)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(directory, batch_id)
    fd, temp_name = tempfile.mkstemp(prefix=f".{batch_id}.", suffix=".items.part", dir=directory)
    os.close(fd)
    items_temp = Path(temp_name)
    try:
        with open(path, "rb") as handle:
            state = _run_pass(
                batch_id,
                settings,
                lambda: _file_chunks(handle),
                progress,
                cancel,
                expected,
                1,
                None,
                items_temp,
            )
        index._install_items(batch_id, items_temp)
        _sync_directory(directory)
    except _Truncated as exc:
        _discard(None, items_temp)
        raise IngestError(
            f"the local copy {path} is incomplete ({exc}); delete it and download again"
        ) from exc
    except BaseException:
        _discard(None, items_temp)
        raise
    _commit(index, batch_id, dates, path, state, now())
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
    source: ChunkSource,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    expected: int | None,
    attempt: int,
    out: Any,
    items_temp: Path,
) -> _Pass:
    """One pass: raw bytes to `out` (synced to disk) and the items file written and synced at
    `items_temp`. The caller renames both into place, then records the batch as complete."""
    writer = _ItemsWriter(items_temp)
    state = _Pass(batch_id, writer, settings)
    last_report = 0.0
    raw = _RawWriter(out)
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
        raise _Truncated(f"the download stopped early ({state.line} of {expected} results)")
    if progress is not None:
        progress(IngestProgress(state.offset, state.line, expected, attempt))
    return state


class _RawWriter:
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


def _commit(
    index: ResultsIndex, batch_id: str, dates: _Dates, path: Path, state: _Pass, now: datetime
) -> None:
    """Groups, usage sums and the file record, in one transaction: only now does the batch count as done."""
    created_at, ended_at, archived_at = dates
    with index.store.transaction() as db:
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


@contextmanager
def _file_chunks(handle: Any) -> Iterator[Iterable[bytes]]:
    yield iter(lambda: handle.read(CHUNK_SIZE), b"")


def _retrieve(client: Anthropic, batch_id: str) -> Batch:
    try:
        return Batch.from_api(client.messages.batches.retrieve(batch_id))
    except Exception as exc:
        raise IngestError(f"could not look up batch {batch_id}: {_describe(exc)}") from exc


def _worth_retrying(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 429) or status >= 500
    if isinstance(exc, OSError):
        return exc.errno not in _LASTING_DISK_ERRORS  # a full or read-only disk stays so for a while
    # Connection-level failures from the SDK's HTTP stack (dropped, reset, incomplete chunked body).
    name = type(exc).__name__
    module = type(exc).__module__
    return (
        "Connection" in name
        or "Protocol" in name
        or "Read" in name
        or module.startswith(("httpx", "httpcore"))
    )


_LASTING_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _describe(exc: BaseException) -> str:
    from batchboard.core.api import ApiError

    return ApiError.from_sdk(exc).message
