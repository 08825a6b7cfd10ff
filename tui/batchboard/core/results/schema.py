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

# Succeeded but unusable: the classes of a succeeded line whose output a pipeline cannot use, decided once
# at ingest (`parse.Pass`, and `usable.recheck_outputs` when a batch's requests are attached later).
TRUNCATED = "truncated"
"""Cut off: stop_reason `max_tokens` (more room helps) or `model_context_window_exceeded` (it does not)."""
INVALID_OUTPUT = "invalid_output"
"""The request asked for a JSON schema output or forced a tool, and the output does not parse or validate."""
REFUSED = "refused"
"""stop_reason `refusal`."""
UNUSABLE = (TRUNCATED, INVALID_OUTPUT, REFUSED)
TRUNCATING_STOPS = frozenset({"max_tokens", "model_context_window_exceeded"})
#: The stop reason raising max_tokens helps with (the other truncating one is the model's context window).
MAX_TOKENS_STOP = "max_tokens"

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
-- Succeeded but unusable lines per class (truncated, invalid_output, refused), with the first detail seen
-- (a schema violation with its JSON path). result_groups' succeeded row counts every succeeded line, as the
-- API does; these are subsets of it. Filled at ingest; `migrate` fills them for batches indexed before.
CREATE TABLE IF NOT EXISTS result_unusable (
    batch_id TEXT NOT NULL,
    unusable TEXT NOT NULL,
    count INTEGER NOT NULL,
    sample_detail TEXT,
    PRIMARY KEY (batch_id, unusable)
);
-- Their usage sums, per class, model and price band (as result_usage), for what the unusable outputs cost.
CREATE TABLE IF NOT EXISTS result_unusable_usage (
    batch_id TEXT NOT NULL,
    unusable TEXT NOT NULL,
    model TEXT NOT NULL,
    long_prompt INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read INTEGER NOT NULL,
    PRIMARY KEY (batch_id, unusable, model, long_prompt)
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

RESULTS_VERSION = 3
"""Layout of the results tables, kept under `RESULTS_VERSION_KEY` in the store's `meta` table. 1: every
batch's items were rows of one shared table, `result_items`; 2: each batch has its own items file
(ITEMS_SCHEMA); 3: items files say which succeeded lines are unusable (ITEMS_VERSION) and the store keeps
their counts and usage (`result_unusable`, `result_unusable_usage`). `ResultsIndex.migrate` moves a
database to 3; it is slow for a big database, so it runs in a thread (`ingest` runs it first), never when
the store or the index is opened."""
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

ITEMS_VERSION = 1
"""`PRAGMA user_version` of an items file with the `unusable` columns (files written before say 0). An
items file of an older version is not read (it counts as missing) until `migrate` has rewritten it."""

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
# The unusable columns come last: `migrate` adds them to an older file with ALTER TABLE, so an upgraded
# file and a new one have the same columns in the same order.
_PLACE_COLUMNS = """\
    offset INTEGER NOT NULL,        -- the line's bytes in the raw file (newline included)
    length INTEGER NOT NULL,
"""
UNUSABLE_COLUMNS = """\
    unusable TEXT NOT NULL DEFAULT '',  -- succeeded but unusable: truncated, invalid_output, refused; or ''
    unusable_detail TEXT            -- invalid_output: the first violation; refused: the stated reason
"""
#: What `migrate` runs on an items file of version 0 (`{table}`: item_rows, or items in a legacy file).
#: The classes the stop reason alone decides, for rows indexed before there were classes.
UNUSABLE_FROM_STOPS = (
    "UPDATE {table} SET unusable = CASE WHEN stop_reason = 'refusal' THEN 'refused' ELSE 'truncated' END "
    "WHERE result_type = 'succeeded' AND stop_reason IN ('refusal', 'max_tokens', "
    "'model_context_window_exceeded')"
)
UNUSABLE_UPGRADE = (
    "ALTER TABLE {table} ADD COLUMN unusable TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE {table} ADD COLUMN unusable_detail TEXT",
    UNUSABLE_FROM_STOPS,
)

ITEMS_VIEW = f"""
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
    r.offset, r.length, r.unusable, r.unusable_detail
FROM item_rows r LEFT JOIN prices p ON p.priced_model = r.model;
"""
ITEMS_SCHEMA = f"""
{_PRICES_DDL}
-- One row per result line. A heap in file order (line is the rowid), indexed by group once loaded.
CREATE TABLE item_rows (
{_ROW_COLUMNS}{_PLACE_COLUMNS}{UNUSABLE_COLUMNS});
{ITEMS_VIEW}
PRAGMA user_version = {ITEMS_VERSION};
"""
"""Schema of a batch's items file, `<batch_id>.items.sqlite3` next to its raw JSONL. The file is written
whole by one ingestion (no journal, indexed after the load) and renamed into place before the batch is
recorded as complete, so it is never read half-written and never changes in place: a later change (the
unusable classes of an older file, outputs checked once the batch's requests are attached) writes a new
copy and renames it over the old one."""


#: A group's items page straight off an index, in custom_id then line (the rowid, implied) order: the API's
#: groups (and the usable answers, filtered on `unusable` as the rows are read) off the first, each class of
#: unusable answer off the second, a partial index of those rows only (few, so it costs next to nothing to
#: build; queries name it with INDEXED BY).
ITEMS_INDEX = (
    "CREATE INDEX items_by_group ON item_rows (result_type, error_type, custom_id)",
    "CREATE INDEX items_unusable ON item_rows (unusable, custom_id) WHERE unusable != ''",
)
LEGACY_ITEMS_INDEX = tuple(sql.replace(" ON item_rows ", " ON items ") for sql in ITEMS_INDEX)
UNUSABLE_INDEX = "items_unusable"

#: Items files written by the migration of version 1 (`ResultsIndex.migrate`) keep the stored costs of the
#: old table: `items` is a table there, with the same columns as the view of ITEMS_SCHEMA.
LEGACY_ITEMS_SCHEMA = f"""
{_PRICES_DDL}
-- One row per result line. A heap in file order (line is the rowid), indexed by group once loaded.
CREATE TABLE items (
{_ROW_COLUMNS}    long_prompt INTEGER NOT NULL,
    cost_batch REAL,                -- NULL when the model's price is unknown or not billed
    cost_standard REAL,
{_PLACE_COLUMNS}{UNUSABLE_COLUMNS});
PRAGMA user_version = {ITEMS_VERSION};
"""
