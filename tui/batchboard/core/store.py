"""Local state in SQLite: labels, the batches seen so far, end notifications and batch durations for ETAs.

One `Store` wraps one connection opened with `check_same_thread=False` and guarded by a lock, so the UI
thread, thread workers and the poller can share it. WAL mode lets a second batchboard read meanwhile.

Schema. The store's own tables evolve through `MIGRATIONS`, an ordered list of SQL scripts; the number
applied is kept in `PRAGMA user_version`, and each pending script runs in one transaction on open. Never
edit a released migration: append a new one. Other core modules (the results index, submissions) own
their tables and declare them with `register_schema(name, sql)` at import time; `sql` must be
idempotent (`CREATE TABLE IF NOT EXISTS ...`) because it runs on every open. Import the module before
opening the store, or call `Store.ensure_schemas()` after. They read and write with `query`, `execute`
and `transaction`, which take the store's lock.

End notifications. A batch's end is announced at most once, ever: a caller notifies for an ended batch
whose id is not in `end_notified_ids()` and then calls `mark_end_notified`. So that opening the app does
not announce every batch that ever ended, `record_batches` marks a batch as already notified when it
first sees it already ended and it ended before the previous `record_batches` call (or on the very
first call, when there is no previous one). A batch that ended while the app was closed, after the app
last looked, is therefore announced once on the next start, and never again.

Saved view. Each row of `batches` carries the last known state of one batch as plain columns and the
account it was seen on: `use_account(Account(profile, base_url))` names the account (the profile name and
the API's base URL: never the key) for this connection, and `record_batches` tags what it writes with
it. `saved_batches()` reads one account's batches back with one query on the `batches_by_account`
index, so the first frame can show the table from the last session; a row seen before accounts were
recorded (schema 1) belongs to no account and is shown to none until the poller sees it again. The
account row also keeps when its batches were last recorded and the batch selected when the app quit.

Datetimes are stored as ISO 8601 UTC strings and read back timezone-aware.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from batchboard.core import fsio, paths
from batchboard.core.models import Batch, Outcome, RequestCounts

if TYPE_CHECKING:
    from batchboard.core.eta import DurationSample

__all__ = [
    "DEFAULT_BASE_URL",
    "MIGRATIONS",
    "Account",
    "SavedAccount",
    "SavedView",
    "Store",
    "StoreError",
    "register_schema",
]

#: Where the SDK sends requests when neither a profile nor ANTHROPIC_BASE_URL names another place.
DEFAULT_BASE_URL = "https://api.anthropic.com"

MIGRATIONS: list[str] = [
    # 1: labels, seen batches with end-notification state, durations for ETAs, key/value metadata.
    """
    CREATE TABLE labels (
        batch_id TEXT PRIMARY KEY,
        label TEXT NOT NULL
    );
    CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY,
        processing_status TEXT NOT NULL,
        processing INTEGER NOT NULL,
        succeeded INTEGER NOT NULL,
        errored INTEGER NOT NULL,
        canceled INTEGER NOT NULL,
        expired INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        ended_at TEXT,
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        end_notified_at TEXT
    );
    CREATE TABLE durations (
        batch_id TEXT PRIMARY KEY,
        request_count INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        seconds REAL NOT NULL
    );
    CREATE INDEX durations_by_end ON durations (ended_at);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: the saved view: which account (profile + base URL) saw each batch, the rest of its state as
    # columns, and per account when it was last recorded and the batch selected on quit.
    """
    CREATE TABLE accounts (
        account_id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        base_url TEXT NOT NULL,
        saved_at TEXT,
        selected_batch_id TEXT,
        UNIQUE (profile, base_url)
    );
    ALTER TABLE batches ADD COLUMN account_id INTEGER REFERENCES accounts (account_id);
    ALTER TABLE batches ADD COLUMN expires_at TEXT;
    ALTER TABLE batches ADD COLUMN cancel_initiated_at TEXT;
    ALTER TABLE batches ADD COLUMN archived_at TEXT;
    ALTER TABLE batches ADD COLUMN results_url TEXT;
    CREATE INDEX batches_by_account ON batches (account_id, created_at);
    """,
]

_registered_schemas: dict[str, str] = {}
_registry_lock = threading.Lock()

#: Outcomes whose durations say nothing about how long a batch takes to process.
_SKEWED_OUTCOMES = frozenset({Outcome.CANCELED, Outcome.EXPIRED, Outcome.CANCELING, Outcome.RUNNING})
_LAST_RECORDED = "last_recorded_at"


@dataclass(frozen=True, slots=True)
class Account:
    """Whose batches these are: a profile name and the base URL it talks to. Never the API key: two
    profiles on one account keep two saved views, and one profile pointed elsewhere starts empty."""

    profile: str
    base_url: str

    @classmethod
    def of(cls, profile: str, base_url: str | None) -> Account:
        """`base_url` as configured (None: the API's default), written one way (no trailing slash, the
        scheme and host in lower case) so that the same place is always the same account."""
        url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
        scheme, sep, rest = url.partition("://")
        if sep:
            host, slash, path = rest.partition("/")
            url = f"{scheme.lower()}://{host.lower()}{slash}{path}"
        return cls(profile, url)


@dataclass(frozen=True, slots=True)
class SavedAccount:
    """What the store remembers of an account besides its batches."""

    #: When its batches were last recorded (the time of the saved view); None before the first round.
    saved_at: datetime | None
    #: The batch the cursor was on when the app last quit.
    selected_batch_id: str | None


@dataclass(frozen=True, slots=True)
class SavedView:
    """One account's table from the last session, read before the first frame."""

    account: Account
    saved_at: datetime | None
    selected_batch_id: str | None
    batches: list[Batch]


#: Seconds a statement waits for another process's write lock before failing with 'database is locked'.
BUSY_TIMEOUT = 5.0


class StoreError(Exception):
    """The database cannot be used (for example it was written by a newer batchboard)."""


def register_schema(name: str, sql: str) -> None:
    """Declare another module's tables: an idempotent SQL script run on every `Store.open`.

    Registering the same name again with the same script is a no-op; with a different one, an error,
    since two modules would be fighting over one name.
    """
    with _registry_lock:
        existing = _registered_schemas.get(name)
        if existing is not None and existing != sql:
            raise ValueError(f"schema {name!r} is already registered with different SQL")
        _registered_schemas[name] = sql


def _private_paths(database: Path, *, default: bool) -> list[Path]:
    """What `Store.open` keeps private: the database's directory, the database and its SQLite side files,
    the results directory and the files in it, and (for the default locations) the config directory and
    config.toml. Only batchboard's own names: a data directory set to a shared place keeps the rest of
    its files as they are."""
    directory = database.parent
    found = [directory, database, *(database.with_name(database.name + s) for s in _SQLITE_SIDE_FILES)]
    results = paths.results_dir() if default else directory / "results"
    found.append(results)
    with contextlib.suppress(OSError):  # no results yet
        found += list(results.iterdir())  # the results directory is batchboard's own
    if default:
        found += [paths.config_dir(), paths.config_file()]
    return found


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def privacy_notice(tightened: list[Path]) -> str:
    """The one line that says local files were made private."""
    where = os.path.commonpath([str(p) for p in tightened]) if len(tightened) > 1 else str(tightened[0])
    count = len(tightened)
    what = "1 file or directory" if count == 1 else f"{count} files and directories"
    return (
        f"made batchboard's local files private (owner only): {what} in {where} could be read by other "
        "users of this machine, and they hold your prompts and results"
    )


def to_db_time(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: the store keeps timezone-aware UTC only")
    # Fixed width (always microseconds), so text order is time order in SQL comparisons and ORDER BY.
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _db_time_or_none(when: datetime | None) -> str | None:
    return to_db_time(when) if when is not None else None


def from_db_time(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def ended_normally(batch: Batch) -> bool:
    """Whether a batch's duration is a fair sample of processing time: ended, not canceled, not expired."""
    return (
        batch.is_ended
        and batch.ended_at is not None
        and batch.cancel_initiated_at is None
        and batch.outcome not in _SKEWED_OUTCOMES
        and batch.counts.total > 0
        and batch.counts.canceled == 0
        and batch.counts.expired == 0
    )


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        """Use `Store.open` or `Store.memory`; this takes an already-configured connection."""
        self._db = connection
        self._lock = threading.RLock()
        self.path = path
        self.privacy_notice: str | None = None
        """Set by `open` when it had to make local files private: to be said once (the CLI on stderr, the
        TUI in a notification). The next start finds nothing to tighten."""
        self._applied_schemas: set[str] = set()
        self._account_id: int | None = None
        self._migrate()
        self.ensure_schemas()

    # ------------------------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open (creating the file and its directory if needed) the database at `path` or the default.

        Everything is private to its owner (see `fsio`): a new directory is 0700 and the database 0600
        (its -wal and -shm follow), and what an older version left readable by others (the data and
        config directories, the database, the results files, config.toml) is tightened here, once."""
        file = path or paths.database_file()
        fsio.ensure_dir(file.parent)
        tightened = fsio.make_private(_private_paths(file, default=path is None))
        fsio.create_private(file)
        connection = sqlite3.connect(file, check_same_thread=False, timeout=BUSY_TIMEOUT)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; much faster commits
            store = cls(connection, file)
        except BaseException:
            connection.close()
            raise
        if tightened:
            store.privacy_notice = privacy_notice(tightened)
        return store

    @classmethod
    def memory(cls) -> Store:
        """A private in-memory store, for tests."""
        return cls(sqlite3.connect(":memory:", check_same_thread=False), None)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
            return version

    def _migrate(self) -> None:
        with self._lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path or 'database'} has schema version {current}, newer than this batchboard "
                    f"understands ({len(MIGRATIONS)}); upgrade batchboard or use another BATCHBOARD_DATA_DIR"
                )
            for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
                # executescript commits first and runs statements as given, so the script brings its own
                # transaction: the migration and its version number land together or not at all.
                try:
                    self._db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.rollback()
                    raise

    def ensure_schemas(self) -> None:
        """Run registered schema scripts not yet run on this connection (`open` runs all of them)."""
        with _registry_lock:
            pending = [(n, s) for n, s in _registered_schemas.items() if n not in self._applied_schemas]
        with self._lock:
            for name, script in pending:
                self._db.executescript(script)
                self._applied_schemas.add(name)

    def ensure_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add to `table` (a registered module's) whichever of `columns` (name -> SQL type) it lacks: how
        such a table gains columns in an existing database, as `CREATE TABLE IF NOT EXISTS` cannot. Cheap
        after the first call on a connection."""
        key = f"{table}:{','.join(columns)}"
        if key in self._applied_schemas:
            return
        with self.transaction() as db:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        self._applied_schemas.add(key)

    # ------------------------------------------------------------------------------- generic access

    def vacuum(self) -> None:
        """Rewrite the database file without its free pages (slow on a big file: call it in a thread)."""
        with self._lock:
            self._db.execute("VACUUM")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one transaction: commits on success, rolls back on error."""
        with self._lock, self._db:
            yield self._db

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement in its own transaction; returns the number of rows changed."""
        with self.transaction() as db:
            return db.execute(sql, parameters).rowcount

    def query(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    # ---------------------------------------------------------------------------------------- labels

    def set_label(self, batch_id: str, label: str | None) -> None:
        """Set a batch's label, stored exactly as given; None, empty or blank removes it."""
        if label is None or not label.strip():
            self.execute("DELETE FROM labels WHERE batch_id = ?", (batch_id,))
        else:
            self.execute(
                "INSERT INTO labels (batch_id, label) VALUES (?, ?) "
                "ON CONFLICT (batch_id) DO UPDATE SET label = excluded.label",
                (batch_id, label),
            )

    def labels(self) -> dict[str, str]:
        return dict(self.query("SELECT batch_id, label FROM labels"))

    def label(self, batch_id: str) -> str | None:
        rows = self.query("SELECT label FROM labels WHERE batch_id = ?", (batch_id,))
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------------- seen batches, notices

    def record_batches(self, batches: Iterable[Batch], now: datetime | None = None) -> None:
        """Upsert the last known state of `batches` in one transaction; also records normal durations.

        `now` (default: the system clock) becomes the mark that decides which batches seen for the first
        time already ended count as old news (see the module docstring).
        """
        now = now or datetime.now(UTC)
        now_text = to_db_time(now)
        batch_rows: list[tuple[Any, ...]] = []
        duration_rows: list[tuple[Any, ...]] = []
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_LAST_RECORDED,)).fetchone()
            watermark = from_db_time(row[0]) if row else None
            for batch in batches:
                ended_at = batch.ended_at
                old_news = batch.is_ended and (watermark is None or ended_at is None or ended_at <= watermark)
                c = batch.counts
                batch_rows.append(
                    (
                        batch.id,
                        batch.processing_status,
                        c.processing,
                        c.succeeded,
                        c.errored,
                        c.canceled,
                        c.expired,
                        to_db_time(batch.created_at),
                        to_db_time(ended_at) if ended_at else None,
                        now_text,
                        now_text,
                        now_text if old_news else None,
                        self._account_id,
                        to_db_time(batch.expires_at),
                        _db_time_or_none(batch.cancel_initiated_at),
                        _db_time_or_none(batch.archived_at),
                        batch.results_url,
                    )
                )
                if ended_at is not None and ended_normally(batch):
                    seconds = (ended_at - batch.created_at).total_seconds()
                    if seconds > 0:
                        duration_rows.append(
                            (batch.id, c.total, to_db_time(batch.created_at), to_db_time(ended_at), seconds)
                        )
            # end_notified_at is only set on insert: an update must never un-notify or pre-notify.
            db.executemany(
                """
                INSERT INTO batches (batch_id, processing_status, processing, succeeded, errored, canceled,
                    expired, created_at, ended_at, first_seen_at, updated_at, end_notified_at, account_id,
                    expires_at, cancel_initiated_at, archived_at, results_url)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (batch_id) DO UPDATE SET
                    processing_status = excluded.processing_status,
                    processing = excluded.processing,
                    succeeded = excluded.succeeded,
                    errored = excluded.errored,
                    canceled = excluded.canceled,
                    expired = excluded.expired,
                    created_at = excluded.created_at,
                    ended_at = excluded.ended_at,
                    updated_at = excluded.updated_at,
                    account_id = coalesce(excluded.account_id, batches.account_id),
                    expires_at = excluded.expires_at,
                    cancel_initiated_at = excluded.cancel_initiated_at,
                    archived_at = excluded.archived_at,
                    results_url = excluded.results_url
                """,
                batch_rows,
            )
            db.executemany("INSERT OR IGNORE INTO durations VALUES (?, ?, ?, ?, ?)", duration_rows)
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (_LAST_RECORDED, now_text),
            )
            if self._account_id is not None:
                db.execute(
                    "UPDATE accounts SET saved_at = max(coalesce(saved_at, ''), ?) WHERE account_id = ?",
                    (now_text, self._account_id),
                )

    def forget_batches(self, batch_ids: Iterable[str]) -> None:
        """Drop batches deleted on the service from the saved view (their labels stay, harmlessly)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM batches WHERE batch_id = ?", [(bid,) for bid in batch_ids])

    # ------------------------------------------------------------------------------------ saved view

    def use_account(self, account: Account) -> SavedAccount:
        """Record batches for `account` from now on and read what is saved for it (created if new)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO accounts (profile, base_url) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (account.profile, account.base_url),
            )
            account_id, saved_at, selected = db.execute(
                "SELECT account_id, saved_at, selected_batch_id FROM accounts "
                "WHERE profile = ? AND base_url = ?",
                (account.profile, account.base_url),
            ).fetchone()
        self._account_id = account_id
        return SavedAccount(from_db_time(saved_at) if saved_at else None, selected)

    def saved_view(self, account: Account) -> SavedView:
        """`use_account(account)`, then its saved batches: what the first frame shows."""
        saved = self.use_account(account)
        return SavedView(account, saved.saved_at, saved.selected_batch_id, self.saved_batches())

    def saved_batches(self) -> list[Batch]:
        """The account's batches as last seen, newest first: one query on an index, no JSON. Empty
        before `use_account`: a store never shows batches whose account it does not know."""
        if self._account_id is None:
            return []
        rows = self.query(
            "SELECT batch_id, processing_status, processing, succeeded, errored, canceled, expired, "
            "created_at, expires_at, ended_at, cancel_initiated_at, archived_at, results_url "
            "FROM batches WHERE account_id = ? AND expires_at IS NOT NULL ORDER BY created_at DESC",
            (self._account_id,),
        )
        when = datetime.fromisoformat
        return [
            Batch(
                id=r[0],
                processing_status=r[1],
                counts=RequestCounts(r[2], r[3], r[4], r[5], r[6]),
                created_at=when(r[7]),
                expires_at=when(r[8]),
                ended_at=when(r[9]) if r[9] else None,
                cancel_initiated_at=when(r[10]) if r[10] else None,
                archived_at=when(r[11]) if r[11] else None,
                results_url=r[12],
            )
            for r in rows
        ]

    def save_selected(self, batch_id: str | None) -> None:
        """Remember the batch the cursor is on (called on quit), for this account."""
        if self._account_id is not None:
            self.execute(
                "UPDATE accounts SET selected_batch_id = ? WHERE account_id = ?", (batch_id, self._account_id)
            )

    def known_batch_ids(self) -> set[str]:
        return {row[0] for row in self.query("SELECT batch_id FROM batches")}

    def ended_batch_ids(self) -> set[str]:
        """Batches last seen ended: their state is final, so they need no more polling."""
        return {
            row[0] for row in self.query("SELECT batch_id FROM batches WHERE processing_status = 'ended'")
        }

    def mark_end_notified(self, batch_id: str, now: datetime | None = None) -> None:
        """Remember that a batch's end was announced (also for a batch not recorded yet)."""
        when = to_db_time(now or datetime.now(UTC))
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE batches SET end_notified_at = coalesce(end_notified_at, ?) WHERE batch_id = ?",
                (when, batch_id),
            ).rowcount
            if not changed:
                # Unknown so far: keep a placeholder row so the notice is not repeated when it is recorded.
                db.execute(
                    "INSERT INTO batches (batch_id, processing_status, processing, succeeded, errored, "
                    "canceled, expired, created_at, ended_at, first_seen_at, updated_at, end_notified_at) "
                    "VALUES (?, 'ended', 0, 0, 0, 0, 0, ?, NULL, ?, ?, ?)",
                    (batch_id, when, when, when, when),
                )

    def end_notified_ids(self) -> set[str]:
        return {
            row[0] for row in self.query("SELECT batch_id FROM batches WHERE end_notified_at IS NOT NULL")
        }

    # ------------------------------------------------------------------------------------- durations

    def record_duration(
        self,
        batch_id: str,
        request_count: int,
        created_at: datetime,
        ended_at: datetime,
        outcome: Outcome | None = None,
    ) -> bool:
        """Keep how long a batch took, for ETAs. Returns False (and keeps nothing) when the sample would
        skew estimates: a canceled or expired batch, no requests, or a non-positive duration.

        `record_batches` already does this for every batch that ended normally."""
        seconds = (ended_at - created_at).total_seconds()
        if (outcome is not None and outcome in _SKEWED_OUTCOMES) or request_count <= 0 or seconds <= 0:
            return False
        self.execute(
            "INSERT OR REPLACE INTO durations VALUES (?, ?, ?, ?, ?)",
            (batch_id, request_count, to_db_time(created_at), to_db_time(ended_at), seconds),
        )
        return True

    def durations(self, limit: int | None = 1000) -> list[DurationSample]:
        """The most recent `limit` durations (all with None), oldest first: recent behaviour matters most."""
        rows = self.query(
            "SELECT request_count, seconds FROM "
            "(SELECT request_count, seconds, ended_at FROM durations ORDER BY ended_at DESC LIMIT ?) "
            "ORDER BY ended_at",
            (-1 if limit is None else limit,),
        )
        from batchboard.core.eta import DurationSample  # the first frame does not need it

        return [DurationSample(int(count), float(seconds)) for count, seconds in rows]
