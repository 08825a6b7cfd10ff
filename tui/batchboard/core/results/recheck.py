"""Changing a batch's unusable classes after its ingest: an items file of an older layout gets the columns
(truncated and refused from the stop reasons it already holds), and a batch whose requests are attached
after its results were indexed gets its outputs checked against their schemas then.

An items file is never changed in place (readers open it immutable): each change writes a copy, renamed
over the old file, and the store's counts and usage sums of the unusable answers are replaced after it.
Blocking (a copy of the file, and reading the raw lines of the checked answers): call it in a thread.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import orjson

from batchboard.core import fsio
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.schema import (
    INVALID_OUTPUT,
    ITEMS_INDEX,
    ITEMS_VERSION,
    ITEMS_VIEW,
    LEGACY_ITEMS_INDEX,
    UNUSABLE_UPGRADE,
)
from batchboard.core.results.usable import Checks, load_checks, stop_class
from batchboard.core.results.writers import record_unusable, unusable_groups, usage_sums


@dataclass(frozen=True, slots=True)
class Recheck:
    """What checking a batch's outputs against its stored requests found."""

    batch_id: str
    checked: int
    """Succeeded answers whose request asked for a JSON schema or forced a tool (and could be read)."""
    invalid: int
    """Of those, the ones that do not parse or validate."""
    changed: int
    """Answers whose class changed (newly invalid, or valid now that another file is attached)."""


def upgrade_items_file(index: ResultsIndex, batch_id: str) -> bool:
    """Give an items file of an older layout the unusable columns; False when it has them already (or is
    not there). Truncated and refused come from the stop reasons it holds; invalid outputs need the
    requests (`recheck_outputs`)."""
    path = index.items_path(batch_id)
    if not path.is_file():
        return False
    with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= ITEMS_VERSION:
        return False

    def upgrade(db: sqlite3.Connection) -> None:
        legacy = not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'item_rows'"
        ).fetchone()
        table = "items" if legacy else "item_rows"
        for statement in UNUSABLE_UPGRADE:
            db.execute(statement.format(table=table))
        db.execute((LEGACY_ITEMS_INDEX if legacy else ITEMS_INDEX)[1])  # they have the other one
        if not legacy:  # the view names its columns: it is made again with the new ones
            db.execute("DROP VIEW items")
            db.execute(ITEMS_VIEW)
        db.execute(f"PRAGMA user_version = {ITEMS_VERSION}")

    _rewrite(index, batch_id, upgrade)
    return True


def refresh_unusable(index: ResultsIndex, batch_id: str) -> None:
    """Replace the store's unusable counts and usage sums of the batch with what its items file says."""
    path = index.items_path(batch_id)
    with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
        groups = unusable_groups(db)
        _, usage = usage_sums(db)
    with index.store.transaction() as tx:
        record_unusable(tx, batch_id, groups, usage)


def recheck_outputs(index: ResultsIndex, batch_id: str, checks: Checks | None = None) -> Recheck | None:
    """Check the batch's succeeded answers against what their stored requests asked for (a JSON schema, a
    forced tool) and rewrite their class: invalid_output, or usable again when the request attached now
    asks for nothing (or for what the answer gives). None when the results are not indexed here.

    Only the answers not already truncated or refused are checked (those classes come from the stop
    reason), and only those whose request has a check are read from the raw file: one seek each."""
    if not index.is_complete(batch_id):
        return None
    if checks is None:
        checks = load_checks(index.store, batch_id)
    wanted = checks.by_custom_id
    rows = index._query_items(
        batch_id,
        "SELECT line, custom_id, stop_reason, unusable, unusable_detail, offset, length FROM items "
        "WHERE result_type = 'succeeded' AND error_type = '' AND (unusable = '' OR unusable = ?) "
        "ORDER BY line",
        (INVALID_OUTPUT,),
    )
    changes: list[tuple[str, str | None, int]] = []
    checked = invalid = changed = 0
    path = index.local_copy(batch_id) or index.raw_path(batch_id)
    with open(path, "rb") as raw:
        for line, custom_id, stop_reason, unusable, was_detail, offset, length in rows:
            check = wanted.get(custom_id)
            detail = None
            if check is not None and not stop_class(stop_reason):
                raw.seek(offset)
                try:
                    message = orjson.loads(raw.read(length))["result"]["message"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # indexed as succeeded, so this does not happen unless the file was changed
                checked += 1
                detail = check.violation(message)
            now = INVALID_OUTPUT if detail is not None else ""
            invalid += bool(now)
            changed += now != unusable
            if now != unusable or detail != was_detail:
                changes.append((now, detail, line))
    if changes:
        _rewrite(
            index,
            batch_id,
            lambda db: db.executemany(
                f"UPDATE {_table(db)} SET unusable = ?, unusable_detail = ? WHERE line = ?", changes
            ),
        )
    return Recheck(batch_id, checked, invalid, changed)


def _table(db: sqlite3.Connection) -> str:
    """The items file's table of rows: item_rows, or items in a file migrated from the shared table."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'item_rows'").fetchone()
    return "item_rows" if found else "items"


def _rewrite(index: ResultsIndex, batch_id: str, change: Callable[[sqlite3.Connection], object]) -> None:
    """Copy the batch's items file, apply `change` to the copy, sync it and rename it over the original;
    then replace the store's unusable counts and sums from it. Nothing changes on any failure."""
    path = index.items_path(batch_id)
    fd, temp = fsio.temp_beside(path, ".items.part", prefix=f".{batch_id}.")
    os.close(fd)
    try:
        shutil.copyfile(path, temp)
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = OFF")  # a failed change throws the copy away whole
            db.execute("PRAGMA synchronous = OFF")  # one fsync below, before the rename
            db.execute("BEGIN")
            change(db)
            db.execute("COMMIT")
        finally:
            db.close()
        fsio.fsync_path(temp)
        index._install_items(batch_id, temp)
        fsio.sync_directory(path.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    refresh_unusable(index, batch_id)
