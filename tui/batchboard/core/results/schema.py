"""The results tables: the shared store's per-batch tables (file records, groups, usage sums), the schema
of a batch's items file, and the layout versions `migrate` moves between.

Storage. A batch's items go to their own SQLite file, `<batch_id>.items.sqlite3` next to the raw file:
written as a temp file without a journal, indexed once loaded (a heap plus one index built in a single
sort costs half as much as keeping a b-tree ordered while 100,000 rows stream in), synced, renamed into
place. The shared store keeps the small per-batch tables: the file record, the groups with their counts
and the usage sums behind every cost figure. The record is written last, in one transaction, after both
files are in place (and the directory synced); until then the batch is not done.
"""

from __future__ import annotations

from batchboard.core.store import register_schema

RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
INVALID = "invalid"
"""Result type recorded for a line that is not a valid result object (kept, so nothing is silently lost)."""

#: Error types worth retrying unchanged; `invalid_request_error` and the rest need a fix first.
RETRYABLE_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})

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
VACUUM_FREE_FRACTION = 0.25
"""Reclaim the dropped table's space once at least this share of the database's pages is free."""

#: The columns of the shared table of version 1, in the order of the items file's `items` table.
LEGACY_COLUMNS = (
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
