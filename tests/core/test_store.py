"""The SQLite store: migrations and reopening, registered schemas, labels, seen batches with the
end-notification rule, duration filtering for ETAs, and 10,000-row upserts in one transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from batchboard.core import paths, store
from batchboard.core.eta import DurationSample
from batchboard.core.models import Batch, Outcome, RequestCounts
from batchboard.core.store import MIGRATIONS, Store, StoreError, from_db_time, register_schema, to_db_time
from conftest import HOSTILE

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def batch(
    n: int,
    status: str = "in_progress",
    *,
    created: datetime = T0,
    ended_after: timedelta | None = None,
    cancel: bool = False,
    **counts: int,
) -> Batch:
    return Batch(
        id=f"msgbatch_{n:024d}",
        processing_status=status,  # type: ignore[arg-type]
        counts=RequestCounts(**counts),
        created_at=created,
        expires_at=created + timedelta(hours=24),
        ended_at=created + ended_after if ended_after is not None else None,
        cancel_initiated_at=created + timedelta(minutes=1) if cancel else None,
    )


@pytest.fixture
def db() -> Iterator[Store]:
    with Store.memory() as s:
        yield s


# ------------------------------------------------------------------------------------ files, schema


def test_open_creates_the_default_file_in_wal_mode() -> None:
    assert not paths.data_dir().exists()
    with Store.open() as s:
        assert s.path == paths.database_file()
        assert s.query("PRAGMA journal_mode") == [("wal",)]
        assert s.schema_version == len(MIGRATIONS)
    assert paths.database_file().exists()


def test_reopen_keeps_data_and_does_not_rerun_migrations(tmp_path: Path) -> None:
    file = tmp_path / "nested" / "state.sqlite3"
    with Store.open(file) as s:
        s.set_label("msgbatch_1", "nightly evals")
    with Store.open(file) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert s.label("msgbatch_1") == "nightly evals"


def test_pending_migration_runs_on_open_and_bumps_user_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "state.sqlite3"
    Store.open(file).close()
    monkeypatch.setattr(store, "MIGRATIONS", [*MIGRATIONS, "CREATE TABLE extra (x INTEGER);"])
    with Store.open(file) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
        assert s.query("SELECT count(*) FROM extra") == [(0,)]


def test_failed_migration_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "state.sqlite3"
    Store.open(file).close()
    broken = "CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;"
    monkeypatch.setattr(store, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        Store.open(file)
    connection = sqlite3.connect(file)
    try:
        assert connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "half_done" not in tables
    finally:
        connection.close()


def test_database_from_a_newer_batchboard_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "state.sqlite3"
    connection = sqlite3.connect(file)
    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    connection.close()
    with pytest.raises(StoreError, match="newer than this batchboard"):
        Store.open(file)


def test_registered_schemas_run_on_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_registered_schemas", {})
    sql = "CREATE TABLE IF NOT EXISTS result_index (batch_id TEXT PRIMARY KEY, lines INTEGER);"
    register_schema("results", sql)
    register_schema("results", sql)  # same script again: fine
    with pytest.raises(ValueError, match="already registered"):
        register_schema("results", "CREATE TABLE IF NOT EXISTS other (x);")
    with Store.memory() as s:
        s.execute("INSERT INTO result_index VALUES (?, ?)", ("msgbatch_1", 3))
        assert s.query("SELECT lines FROM result_index") == [(3,)]
        register_schema("late", "CREATE TABLE IF NOT EXISTS late_table (x);")
        s.ensure_schemas()
        assert s.query("SELECT count(*) FROM late_table") == [(0,)]


def test_transaction_rolls_back_on_error(db: Store) -> None:
    with pytest.raises(RuntimeError), db.transaction() as connection:
        connection.execute("INSERT INTO labels VALUES ('msgbatch_1', 'x')")
        raise RuntimeError("boom")
    assert db.labels() == {}


def test_times_are_utc_text_and_come_back_aware() -> None:
    tokyo = datetime(2026, 11, 23, 21, tzinfo=UTC).astimezone(timezone(timedelta(hours=9)))
    text = to_db_time(tokyo)
    assert text == "2026-11-23T21:00:00.000000+00:00"
    assert from_db_time(text) == tokyo and from_db_time(text).tzinfo is not None
    with pytest.raises(ValueError, match="naive"):
        to_db_time(datetime(2026, 11, 23, 12))


# ------------------------------------------------------------------------------------------ labels


def test_labels_store_hostile_text_exactly(db: Store) -> None:
    db.set_label("msgbatch_1", HOSTILE)
    db.set_label("msgbatch_2", "  padded  ")
    assert db.label("msgbatch_1") == HOSTILE
    assert db.labels() == {"msgbatch_1": HOSTILE, "msgbatch_2": "  padded  "}
    db.set_label("msgbatch_1", "renamed")
    assert db.label("msgbatch_1") == "renamed"


@pytest.mark.parametrize("removal", [None, "", "   "])
def test_empty_label_removes(db: Store, removal: str | None) -> None:
    db.set_label("msgbatch_1", "x")
    db.set_label("msgbatch_1", removal)
    assert db.label("msgbatch_1") is None
    assert db.labels() == {}


def test_shared_between_threads(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Store.open(tmp_path / "state.sqlite3") as s:

        def work(n: int) -> None:
            try:
                for i in range(50):
                    s.set_label(f"msgbatch_{n}_{i}", f"label {i}")
                    s.labels()
            except BaseException as exc:  # collected so the main thread can fail the test
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(s.labels()) == 200


# ------------------------------------------------------------------------ seen batches and notices


def test_record_batches_upserts_last_known_state(db: Store) -> None:
    db.record_batches([batch(1, processing=10)], now=T0)
    db.record_batches([batch(1, "ended", ended_after=timedelta(minutes=30), succeeded=10)], now=T0)
    rows = db.query("SELECT processing_status, processing, succeeded, ended_at FROM batches")
    assert rows == [("ended", 0, 10, to_db_time(T0 + timedelta(minutes=30)))]
    assert db.known_batch_ids() == {batch(1).id}
    assert db.ended_batch_ids() == {batch(1).id}


def test_ten_thousand_batches_in_one_transaction(db: Store) -> None:
    many = [
        batch(n, "ended", ended_after=timedelta(minutes=n % 600 + 1), succeeded=5)
        if n % 2
        else batch(n, processing=5)
        for n in range(10_000)
    ]
    statements: list[str] = []
    db._db.set_trace_callback(statements.append)
    db.record_batches(many, now=T0 + timedelta(days=1))
    db.record_batches(many, now=T0 + timedelta(days=1))  # the second round updates every row
    db._db.set_trace_callback(None)
    assert sum(s.strip().upper() == "COMMIT" for s in statements) == 2
    assert len(db.known_batch_ids()) == 10_000
    assert len(db.durations(limit=None)) == 5_000


def test_first_run_does_not_announce_batches_that_ended_long_ago(db: Store) -> None:
    old = batch(1, "ended", ended_after=timedelta(hours=2), succeeded=3)
    running = batch(2, processing=3)
    db.record_batches([old, running], now=T0 + timedelta(hours=3))
    assert db.end_notified_ids() == {old.id}


def test_each_end_is_announced_once(db: Store) -> None:
    running = batch(2, processing=3)
    db.record_batches([running], now=T0 + timedelta(hours=1))
    ended = batch(2, "ended", ended_after=timedelta(hours=2), succeeded=3)
    db.record_batches([ended], now=T0 + timedelta(hours=3))
    assert ended.id not in db.end_notified_ids()  # the caller announces it...
    db.mark_end_notified(ended.id, now=T0 + timedelta(hours=3))
    db.record_batches([ended], now=T0 + timedelta(hours=4))
    assert ended.id in db.end_notified_ids()  # ...and once announced it stays announced


def test_new_batch_that_ended_since_the_last_look_is_announced(db: Store) -> None:
    db.record_batches([batch(1, processing=3)], now=T0 + timedelta(hours=1))
    quick = batch(2, "ended", created=T0 + timedelta(hours=1), ended_after=timedelta(minutes=20), succeeded=1)
    stale = batch(3, "ended", created=T0 - timedelta(days=3), ended_after=timedelta(hours=1), succeeded=1)
    db.record_batches([quick, stale], now=T0 + timedelta(hours=2))
    notified = db.end_notified_ids()
    assert quick.id not in notified  # ended after we last looked: news
    assert stale.id in notified  # ended before we last looked and never seen: old news


def test_batch_that_ended_while_the_app_was_closed_is_announced_once(tmp_path: Path) -> None:
    file = tmp_path / "state.sqlite3"
    with Store.open(file) as s:
        s.record_batches([batch(1, processing=3)], now=T0)
    ended = batch(1, "ended", ended_after=timedelta(hours=5), succeeded=3)
    with Store.open(file) as s:  # the next morning
        s.record_batches([ended], now=T0 + timedelta(hours=9))
        assert ended.id not in s.end_notified_ids()
        s.mark_end_notified(ended.id)
    with Store.open(file) as s:  # and the start after that
        s.record_batches([ended], now=T0 + timedelta(hours=10))
        assert ended.id in s.end_notified_ids()


def test_mark_before_record_is_remembered(db: Store) -> None:
    db.record_batches([], now=T0)
    db.mark_end_notified("msgbatch_unseen", now=T0 + timedelta(minutes=5))
    db.record_batches(
        [Batch("msgbatch_unseen", "ended", RequestCounts(succeeded=1), T0, T0 + timedelta(hours=24), T0)],
        now=T0 + timedelta(hours=1),
    )
    assert "msgbatch_unseen" in db.end_notified_ids()
    assert db.query("SELECT succeeded, created_at FROM batches WHERE batch_id = 'msgbatch_unseen'") == [
        (1, to_db_time(T0))
    ]


# --------------------------------------------------------------------------------------- durations


def test_only_normal_ends_become_durations(db: Store) -> None:
    hour = timedelta(hours=1)
    db.record_batches(
        [
            batch(1, "ended", ended_after=hour, succeeded=10),
            batch(2, "ended", ended_after=2 * hour, succeeded=5, errored=5),  # partial: still normal
            batch(3, "ended", ended_after=3 * hour, errored=4),  # failed fast: normal end
            batch(4, "ended", ended_after=hour, cancel=True, succeeded=2, canceled=8),
            batch(5, "ended", ended_after=24 * hour, succeeded=2, expired=8),
            batch(6, "ended", ended_after=24 * hour, errored=2, expired=8),
            batch(7, "canceling", cancel=True, processing=4),
            batch(8, processing=4),
            batch(9, "ended", ended_after=hour),  # no requests at all
        ],
        now=T0 + timedelta(days=1),
    )
    assert sorted(db.durations(), key=lambda d: d.seconds) == [
        DurationSample(10, 3600.0),
        DurationSample(10, 7200.0),
        DurationSample(4, 10800.0),
    ]


def test_record_duration_rejects_samples_that_would_skew(db: Store) -> None:
    end = T0 + timedelta(minutes=30)
    assert not db.record_duration("msgbatch_c", 10, T0, end, outcome=Outcome.CANCELED)
    assert not db.record_duration("msgbatch_e", 10, T0, end, outcome=Outcome.EXPIRED)
    assert not db.record_duration("msgbatch_z", 0, T0, end)
    assert not db.record_duration("msgbatch_n", 10, end, T0)
    assert db.durations() == []
    assert db.record_duration("msgbatch_ok", 10, T0, end, outcome=Outcome.PARTIAL)
    assert db.durations() == [DurationSample(10, 1800.0)]


def test_durations_keep_the_most_recent(db: Store) -> None:
    for n in range(5):
        db.record_duration(f"msgbatch_{n}", n + 1, T0, T0 + timedelta(minutes=n + 1))
    assert [d.request_count for d in db.durations(limit=2)] == [4, 5]
    assert [d.request_count for d in db.durations(limit=None)] == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------------------- privacy


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which SQLite and open(2) would make files readable by everyone."""
    import os

    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_every_file_the_store_creates_is_private_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    from tests.results.helpers import chunked, ended_batch, jsonl, succeeded

    from batchboard.core.config import set_setting
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.results.ingest import ingest

    with Store.open() as db:
        assert db.privacy_notice is None  # nothing was there to tighten
        db.set_label("msgbatch_x", "x")  # a write: the -wal and -shm exist while the store is open
        data = paths.data_dir()
        database = paths.database_file()
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        lines = [succeeded(f"ok-{i}") for i in range(5)]
        batch = ended_batch("msgbatch_private", lines)
        index = ResultsIndex(db)
        ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 64))
        raw, items = index.raw_path(batch.id), index.items_path(batch.id)
        assert mode(data) == 0o700 and mode(paths.results_dir()) == 0o700
        assert {p.name: mode(p) for p in (database, wal, shm, raw, items)} == {
            p.name: 0o600 for p in (database, wal, shm, raw, items)
        }
        index.close()
    set_setting("theme", "nord")
    assert mode(paths.config_dir()) == 0o700 and mode(paths.config_file()) == 0o600


def test_open_tightens_what_an_older_version_left_readable_and_says_so_once(
    tmp_path: Path, umask_022: None
) -> None:
    data = paths.data_dir()
    results = paths.results_dir()
    results.mkdir(parents=True)
    data.chmod(0o755)
    results.chmod(0o755)
    database = paths.database_file()
    sqlite3.connect(database).close()  # made the old way: 0644
    loose = [results / "msgbatch_old.jsonl", results / "msgbatch_old.items.sqlite3", paths.config_file()]
    paths.config_dir().mkdir(mode=0o755)
    for file in loose:
        file.write_bytes(b"x")
        file.chmod(0o644)
    assert mode(database) == 0o644
    with Store.open() as db:
        assert db.privacy_notice is not None
        assert "private" in db.privacy_notice and "7 files and directories" in db.privacy_notice
    for path in (data, results, paths.config_dir()):
        assert mode(path) == 0o700
    for path in (database, *loose):
        assert mode(path) == 0o600
    with Store.open() as db:
        assert db.privacy_notice is None  # said once: the next start has nothing to tighten


def test_a_shared_data_directory_keeps_other_files_as_they_are(
    tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    other = shared / "notes.txt"
    other.write_text("mine")
    other.chmod(0o644)
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(shared))
    with Store.open():
        pass
    assert mode(other) == 0o644 and mode(paths.database_file()) == 0o600


def test_the_cli_says_once_on_stderr_that_it_made_files_private(
    umask_022: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.cli import main

    paths.data_dir().mkdir(parents=True, mode=0o755)
    sqlite3.connect(paths.database_file()).close()
    main(["submit", "--resume", "sub_nothing"])  # fails (no key), having opened the store
    first = capsys.readouterr().err
    assert first.count("batchboard: made batchboard's local files private (owner only): 2 files") == 1
    main(["submit", "--resume", "sub_nothing"])
    assert "private" not in capsys.readouterr().err


async def test_the_tui_says_it_in_a_notification(umask_022: None) -> None:
    from batchboard.core.clock import ManualClock
    from batchboard.ui.app import make_app

    paths.data_dir().mkdir(parents=True, mode=0o755)
    with Store.open() as db:
        assert db.privacy_notice is not None

        def never() -> object:
            raise RuntimeError("not connecting in this test")

        app = make_app(connect=never, store=db, clock=ManualClock())  # type: ignore[arg-type]
        async with app.run_test(notifications=True) as pilot:
            await pilot.pause()
            notes = [n for n in app._notifications if n.title == "Local files"]
            assert len(notes) == 1 and "private (owner only)" in notes[0].message
