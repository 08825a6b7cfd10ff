"""What is known of each batch's results, and the triage queries over them.

`ResultsIndex` answers the triage views: problem groups with counts (the API's error types, canceled,
expired, and the succeeded answers that are unusable: truncated, invalid output, refused), a group's items
(custom_id filter, keyset paging), one item by custom_id, one item's raw line, every item's outcome in file
order (retries, jobs), usage sums for cost. Nothing else reads the items files (see `schema` for their
layout; `ingest` writes them). Everything read from results (custom_ids, error messages, model output) is
untrusted text.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from batchboard.core import fsio, paths
from batchboard.core.cost import UsageGroup
from batchboard.core.models import Batch
from batchboard.core.pricing import TokenCounts
from batchboard.core.results.schema import (
    INVALID,
    INVALID_OUTPUT,
    ITEMS_VERSION,
    REFUSED,
    RESULT_TYPES,
    RETRYABLE_ERRORS,
    TRUNCATED,
    UNUSABLE,
)
from batchboard.core.store import Store, from_db_time, to_db_time

DEFAULT_PAGE = 200
ITEMS_SUFFIX = ".items.sqlite3"
OPEN_ITEMS_FILES = 8

# ------------------------------------------------------------------------------------------ value types


class Retryability(StrEnum):
    RETRYABLE = "retryable"
    NEEDS_FIX = "needs fix"
    ON_REQUEST = "on request"  # canceled: retried only when the user asks
    NOT_APPLICABLE = "-"  # succeeded


def retryability(result_type: str, error_type: str = "", unusable: str = "") -> Retryability:
    """Whether a group's items can be resubmitted unchanged (the resubmit issue acts on this)."""
    if unusable:
        return Retryability.ON_REQUEST  # succeeded but unusable: resent only when asked (`retry --types`)
    if result_type == "expired":
        return Retryability.RETRYABLE
    if result_type == "canceled":
        return Retryability.ON_REQUEST
    if result_type == "errored":
        return Retryability.RETRYABLE if error_type in RETRYABLE_ERRORS else Retryability.NEEDS_FIX
    if result_type == INVALID:
        return Retryability.NEEDS_FIX
    return Retryability.NOT_APPLICABLE


#: The words `--only` takes besides the result types: usable answers, and each unusable class by a short
#: name (`invalid` is an invalid output; lines that are not results are the result type `invalid`).
USABLE = "usable"
CLASS_WORDS = {"truncated": TRUNCATED, "invalid": INVALID_OUTPUT, "refused": REFUSED}
ONLY_WORDS = (*RESULT_TYPES, USABLE, *CLASS_WORDS)


def matches_only(word: str, result_type: str, unusable: str) -> bool:
    """Whether a line with this result type and class is what `--only WORD` asks for. `succeeded` is every
    succeeded line, as the API counts them; `usable` leaves out the truncated, invalid and refused ones."""
    if word == USABLE:
        return result_type == "succeeded" and not unusable
    if word in CLASS_WORDS:
        return unusable == CLASS_WORDS[word]
    return result_type == word


@dataclass(frozen=True, slots=True)
class GroupKey:
    result_type: str
    error_type: str = ""
    unusable: str = ""
    """A succeeded answer's class when it is unusable (truncated, invalid_output, refused); '' otherwise."""

    @property
    def label(self) -> str:
        return self.unusable or self.error_type or self.result_type


@dataclass(frozen=True, slots=True)
class ResultGroup:
    key: GroupKey
    count: int
    sample_message: str | None = None

    @property
    def retryability(self) -> Retryability:
        return retryability(self.key.result_type, self.key.error_type, self.key.unusable)

    @property
    def retryable(self) -> bool:
        return self.retryability is Retryability.RETRYABLE

    @property
    def is_problem(self) -> bool:
        """Not a usable answer: an error, canceled, expired, an unreadable line, or succeeded but unusable."""
        return self.key.result_type != "succeeded" or bool(self.key.unusable)

    @property
    def is_unusable(self) -> bool:
        return bool(self.key.unusable)


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
    unusable: str = ""
    """Succeeded but unusable: truncated, invalid_output or refused; '' otherwise."""
    unusable_detail: str | None = None
    """invalid_output: the first violation, led by its JSON path; refused: the reason it gave, if any."""

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
        self._layouts: dict[str, tuple[tuple[int, int, int], bool]] = {}  # file key -> of the current layout
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

    def indexed_ended(self) -> dict[str, datetime | None]:
        """When each batch whose results are indexed ended (`ResultsFile.indexed`, in SQL): one query,
        nothing else decoded, for the table's costs and the header's totals."""
        rows = self.store.query(
            "SELECT batch_id, ended_at FROM result_files WHERE items > 0 OR state = ?",
            (FileState.COMPLETE.value,),
        )
        return {row[0]: from_db_time(row[1]) if row[1] else None for row in rows}

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
        return self.has_local_copy(batch_id) and self.items_current(batch_id)

    # -------------------------------------------------------------------------------------- triage

    def groups(self, batch_id: str, *, include_succeeded: bool = True) -> list[ResultGroup]:
        """Groups by result and error type, problems first (most items first), then the succeeded answers
        that are unusable (truncated, invalid output, refused), then succeeded: the usable ones only (the
        group is left out when none is)."""
        rows = self.store.query(
            "SELECT result_type, error_type, count, sample_message FROM result_groups WHERE batch_id = ?",
            (batch_id,),
        )
        unusable = self.unusable_counts(batch_id)
        groups = []
        for result_type, error_type, count, sample in rows:
            if result_type == "succeeded" and not error_type:
                count -= sum(c for c, _ in unusable.values())
                if count <= 0:
                    continue
            groups.append(ResultGroup(GroupKey(result_type, error_type), count, sample))
        groups += [
            ResultGroup(GroupKey("succeeded", "", name), count, sample)
            for name, (count, sample) in unusable.items()
        ]
        groups = [g for g in groups if include_succeeded or g.is_problem]
        groups.sort(key=_group_order)
        return groups

    def unusable_counts(self, batch_id: str) -> dict[str, tuple[int, str | None]]:
        """Class -> (count, first detail) of the batch's succeeded answers that are unusable, in the order
        truncated, invalid_output, refused; empty when there are none (or the batch is not indexed)."""
        rows = self.store.query(
            "SELECT unusable, count, sample_detail FROM result_unusable WHERE batch_id = ?", (batch_id,)
        )
        found = {r[0]: (int(r[1]), r[2]) for r in rows if r[1]}
        return {name: found[name] for name in sorted(found, key=_unusable_order)}

    def all_unusable_counts(self) -> dict[str, dict[str, int]]:
        """batch_id -> class -> count, for every batch with unusable answers (one query, for the table)."""
        result: dict[str, dict[str, int]] = {}
        for batch_id, name, count in self.store.query(
            "SELECT batch_id, unusable, count FROM result_unusable WHERE count > 0"
        ):
            result.setdefault(batch_id, {})[name] = int(count)
        return result

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
        sql = [f"SELECT {_ITEM_COLUMNS} FROM items WHERE {_group_where(group)}"]
        params: list[Any] = [group.result_type, group.error_type, group.unusable]
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
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE {_group_where(group.key)} "
                "AND custom_id = ? ORDER BY line LIMIT 1",
                (group.key.result_type, group.key.error_type, group.key.unusable, custom_id),
            )
            if rows:
                return _result_item(batch_id, rows[0])
        return None

    def outcomes(self, batch_id: str, *, problems_only: bool = False) -> list[Outcome]:
        """(custom_id, result_type, error_type, unusable) of every item (or of every one that is not a
        usable answer), in file order."""
        where = " WHERE result_type != 'succeeded' OR unusable != ''" if problems_only else ""
        rows = self._query_items(
            batch_id, f"SELECT custom_id, result_type, error_type, unusable FROM items{where} ORDER BY line"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def stop_reasons(self, batch_id: str, unusable: str) -> dict[str, str]:
        """custom_id -> stop_reason of the succeeded answers of one unusable class (the first line of a
        custom_id listed twice), off the class's partial index."""
        key = GroupKey("succeeded", "", unusable)
        rows = self._query_items(
            batch_id,
            f"SELECT custom_id, stop_reason FROM items WHERE {_group_where(key)} ORDER BY line DESC",
            (key.result_type, key.error_type, key.unusable),
        )
        return {r[0]: r[1] or "" for r in rows}

    def lines_only(self, batch_id: str, word: str) -> Iterator[bytes]:
        """Raw lines in file order of what `--only WORD` asks for (ONLY_WORDS)."""
        if word == USABLE:
            return self.unusable_lines(batch_id, None)
        if word in CLASS_WORDS:
            return self.unusable_lines(batch_id, CLASS_WORDS[word])
        return self.lines_of(batch_id, (word,))

    def unusable_lines(self, batch_id: str, unusable: str | None = None) -> Iterator[bytes]:
        """Raw lines (with their newline) of the succeeded answers of one unusable class (None: usable
        ones), in file order: their places come from the index, then one read each."""
        key = GroupKey("succeeded", "", unusable or "")
        rows = self._query_items(
            batch_id,
            f"SELECT offset, length FROM items WHERE {_group_where(key)} ORDER BY line",
            (key.result_type, key.error_type, key.unusable),
        )
        if not rows:
            return
        path = self.local_copy(batch_id) or self.raw_path(batch_id)
        with open(path, "rb") as handle:
            for offset, length in rows:
                handle.seek(offset)
                yield handle.read(length)

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

    def usage_by_batch(self) -> dict[str, list[UsageGroup]]:
        """Every batch's usage groups, by batch (one query): price each batch from its own groups only."""
        result: dict[str, list[UsageGroup]] = {}
        for group in self.usage_groups():
            result.setdefault(group.batch_id, []).append(group)
        return result

    def unusable_usage(self, batch_id: str | None = None) -> dict[str, list[UsageGroup]]:
        """Class -> the usage groups of the unusable answers (of one batch, or of all), for their cost."""
        sql = (
            "SELECT unusable, batch_id, model, long_prompt, requests, input_tokens, output_tokens, "
            "cache_write_5m, cache_write_1h, cache_read FROM result_unusable_usage"
        )
        rows = (
            self.store.query(sql + " WHERE batch_id = ?", (batch_id,)) if batch_id else self.store.query(sql)
        )
        result: dict[str, list[UsageGroup]] = {}
        for r in sorted(rows, key=lambda r: _unusable_order(r[0])):
            result.setdefault(r[0], []).append(
                UsageGroup(r[1], r[2], r[4], TokenCounts(*r[5:10]), bool(r[3]))
            )
        return result

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
                known = self._layouts.get(batch_id)
                if known is not None and known == (key, False):
                    return []  # an older layout, seen already
                # Read-only and immutable: the file is replaced by a rename, never written in place, so
                # SQLite can skip locking it; a replaced file is noticed by its inode and reopened.
                uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
                current = connection.execute("PRAGMA user_version").fetchone()[0] >= ITEMS_VERSION
                self._layouts[batch_id] = (key, current)
                if not current:
                    connection.close()  # written before the unusable classes: not read until migrated
                    return []
                if len(self._items_open) >= OPEN_ITEMS_FILES:
                    self.forget(next(iter(self._items_open)))
                cached = self._items_open[batch_id] = (key, connection)
            return cached[1].execute(sql, parameters).fetchall()

    def items_current(self, batch_id: str) -> bool:
        """The batch's items file is here and of the current layout (an older one waits for `migrate`).
        A stat, and the file's version read once per file."""
        path = self.items_path(batch_id)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        known = self._layouts.get(batch_id)
        if known is not None and known[0] == (stat.st_ino, stat.st_mtime_ns, stat.st_size):
            return known[1]
        return bool(self._query_items(batch_id, "SELECT 1"))

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
        fsio.replace(temp, self.items_path(batch_id))

    def migrate(self) -> None:
        """Bring the results tables to RESULTS_VERSION (see `migrate.upgrade`). Slow on a big old database:
        call it in a thread (`ingest` does, first). Cheap once done; safe to call from several threads or
        processes."""
        if self._migrated:
            return
        with self._migrate_lock:
            if self._migrated:
                return
            from batchboard.core.results.migrate import upgrade

            upgrade(self)
            self._migrated = True


RAW_LINE_MISSING = (
    "The full result line is not available: the raw results file is not on this machine (the API no "
    "longer serves it). The fields shown in the list were kept."
)


def _checked(batch_id: str) -> str:
    if not batch_id or "/" in batch_id or "\\" in batch_id or batch_id.startswith("."):
        raise ValueError(f"not a batch id: {batch_id!r}")
    return batch_id


_ITEM_COLUMNS = (
    "line, custom_id, result_type, error_type, error_message, model, stop_reason, input_tokens, "
    "output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_batch, offset, length, unusable, "
    "unusable_detail"
)

Outcome = tuple[str, str, str, str]
"""(custom_id, result_type, error_type, unusable) of one result line."""


def _group_where(key: GroupKey) -> str:
    """The SQL condition of a group's items (bind result_type, error_type, unusable). A class of unusable
    answers is read off its partial index: `+` keeps SQLite from the bigger one, where that class's rows
    would be looked for among every succeeded row."""
    if key.unusable:
        return "+result_type = ? AND +error_type = ? AND unusable = ? AND unusable != ''"
    return "result_type = ? AND error_type = ? AND unusable = ?"


def _group_order(group: ResultGroup) -> tuple[int, int, str, str]:
    key = group.key
    if group.is_unusable:
        return (1, _unusable_order(key.unusable), "", "")
    if group.is_problem:
        return (0, -group.count, key.result_type, key.error_type)
    return (2, 0, key.result_type, key.error_type)


def _unusable_order(name: str) -> int:
    return UNUSABLE.index(name) if name in UNUSABLE else len(UNUSABLE)


def _result_item(batch_id: str, r: tuple[Any, ...]) -> ResultItem:
    return ResultItem(
        batch_id,
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        TokenCounts(*r[7:12]),
        r[12],
        r[13],
        r[14],
        r[15],
        r[16],
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
