"""Moving an older database's results to the current layout (`schema.RESULTS_VERSION`).

From version 1 (every batch's items were rows of one shared table, `result_items`) to 2 (each batch has
its own items file), and from 2 to 3 (items files say which succeeded answers are unusable, and the store
keeps their counts and usage): slow for a big database, so it runs in a thread (`ingest` runs it first),
never when the store or the index is opened.
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

from batchboard.core import fsio
from batchboard.core.results.schema import (
    LEGACY_COLUMNS,
    LEGACY_ITEMS_TABLE,
    RESULTS_VERSION,
    RESULTS_VERSION_KEY,
    UNUSABLE_FROM_STOPS,
    VACUUM_FREE_FRACTION,
)
from batchboard.core.results.writers import ItemsWriter

if TYPE_CHECKING:
    from batchboard.core.results.index import ResultsIndex


def upgrade(index: ResultsIndex) -> None:
    """Bring the results tables to RESULTS_VERSION (`ResultsIndex.migrate` calls this once, under its lock).

    From 1: each batch's rows of the shared `result_items` table are written to its items file
    (temp file, synced, renamed; a batch whose items file is already there is skipped), and only then,
    in one transaction with the new version number, is the table dropped. A crash on the way leaves
    the table as it was, and the next call carries on. The rows keep their byte offsets, so a batch
    whose raw file is gone (archived since) can still be browsed, only not its full lines. The freed
    space is given back to the disk (VACUUM) when it is a large share of the file.

    To 3: every complete batch's items file of the older layout is rewritten with the unusable columns
    (`recheck.upgrade_items_file`: truncated and refused from the stop reasons), its counts and usage
    sums go to the store, and a batch whose stored requests ask for a JSON schema or a tool has its
    outputs checked (`recheck.recheck_outputs`). Each step can be done again, so an interrupted move
    carries on where it stopped; the version is written last."""
    store = index.store
    store.ensure_schemas()
    rows = store.query("SELECT value FROM meta WHERE key = ?", (RESULTS_VERSION_KEY,))
    if rows and int(rows[0][0]) >= RESULTS_VERSION:
        return
    if _has_legacy_table(index):
        try:
            legacy = store.query(f"SELECT DISTINCT batch_id FROM {LEGACY_ITEMS_TABLE}")
            for (batch_id,) in legacy:
                _migrate_batch(index, batch_id)
        except sqlite3.OperationalError:
            if _has_legacy_table(index):
                raise
            # another batchboard on this database finished the move meanwhile
    _classify_unusable(index)
    with store.transaction() as db:
        db.execute(f"DROP TABLE IF EXISTS {LEGACY_ITEMS_TABLE}")
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (RESULTS_VERSION_KEY, str(RESULTS_VERSION)),
        )
    _reclaim_space(index)


def _classify_unusable(index: ResultsIndex) -> None:
    """Version 3: the unusable classes of every complete batch indexed before it."""
    from batchboard.core.results.recheck import recheck_outputs, refresh_unusable, upgrade_items_file
    from batchboard.core.results.usable import load_checks

    complete = index.store.query("SELECT batch_id FROM result_files WHERE state = 'complete'")
    for (batch_id,) in complete:
        try:
            if not index.items_path(batch_id).is_file():
                continue  # rebuilt from the raw file (with every class) when the batch is next opened
        except ValueError:
            continue  # not a name a file can have
        upgrade_items_file(index, batch_id)
        checks = load_checks(index.store, batch_id)
        if len(checks) and index.is_complete(batch_id):
            recheck_outputs(index, batch_id, checks)  # writes the store's rows too
        else:
            refresh_unusable(index, batch_id)


def _has_legacy_table(index: ResultsIndex) -> bool:
    return bool(
        index.store.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEGACY_ITEMS_TABLE,)
        )
    )


def _migrate_batch(index: ResultsIndex, batch_id: str) -> None:
    try:
        target = index.items_path(batch_id)
    except ValueError:
        return  # not a name a file can have: nothing of it could ever be shown
    if target.is_file():
        return  # written by an earlier, interrupted migration, or rebuilt from the raw file since
    fd, temp = fsio.temp_beside(target, ".items.part", prefix=f".{batch_id}.")
    os.close(fd)
    writer = ItemsWriter(temp, legacy=True)
    try:
        _copy_legacy_rows(index, batch_id, writer.db)
        writer.finish()
        index._install_items(batch_id, temp)
        fsio.sync_directory(target.parent)
    except BaseException:
        writer.discard()
        raise


def _copy_legacy_rows(index: ResultsIndex, batch_id: str, items: sqlite3.Connection) -> None:
    """Copy the batch's rows of the old table into an items file's `items`, in line order (appends to
    its b-tree). SQLite copies them itself from the store's file, attached read-only to the items
    file's connection, so the store's lock (and the UI's queries) are not held meanwhile."""
    where = "WHERE batch_id = ? ORDER BY line"
    store = index.store
    if store.path is None:  # an in-memory store (tests): no other connection can see it
        rows = store.query(f"SELECT {LEGACY_COLUMNS} FROM {LEGACY_ITEMS_TABLE} {where}", (batch_id,))
        items.executemany(f"INSERT INTO items ({LEGACY_COLUMNS}) VALUES ({','.join('?' * 17)})", rows)
        items.execute(UNUSABLE_FROM_STOPS.format(table="items"))
        return
    items.execute("ATTACH DATABASE ? AS store", (str(store.path),))
    try:
        items.execute(
            f"INSERT INTO items ({LEGACY_COLUMNS}) SELECT {LEGACY_COLUMNS} "
            f"FROM store.{LEGACY_ITEMS_TABLE} {where}",
            (batch_id,),
        )
        items.execute(UNUSABLE_FROM_STOPS.format(table="items"))  # truncated, refused: from stop reasons
    finally:
        items.execute("COMMIT")  # DETACH cannot run inside the load's transaction (no journal: no cost)
        items.execute("DETACH DATABASE store")
        items.execute("BEGIN")


def _reclaim_space(index: ResultsIndex) -> None:
    with index.store.transaction() as db:
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        total = db.execute("PRAGMA page_count").fetchone()[0]
    if total and free / total >= VACUUM_FREE_FRACTION:
        index.store.vacuum()
