"""Review fixes of the items-file rework: the versioned migration of `result_items`, a failed rebuild that
keeps what was complete, the service's rebuild branch, durable renames, bounded token counts, disk errors."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.results.helpers import (
    LEGACY_DDL,
    chunked,
    ended_batch,
    has_legacy_table,
    jsonl,
    legacy_database,
    lines_of_batch,
    succeeded,
)

from batchboard.core import fsio
from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.cost import batch_cost
from batchboard.core.results import ingest as ingest_module
from batchboard.core.results import parse, schema
from batchboard.core.results.index import RAW_LINE_MISSING, FileState, GroupKey, ResultsIndex
from batchboard.core.results.ingest import IngestCancelled, IngestError, ingest
from batchboard.core.results.schema import RESULTS_VERSION, RESULTS_VERSION_KEY
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store


def test_opening_an_old_database_does_not_migrate_it(tmp_path: Path) -> None:
    """Opening the store and the index (the UI thread does both) leaves the slow part to `migrate`."""
    db_path = legacy_database(tmp_path, {"msgbatch_open": lines_of_batch()})
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results"):
        assert has_legacy_table(store)


def test_migration_moves_the_items_of_a_batch_with_its_raw_file(tmp_path: Path) -> None:
    lines = lines_of_batch()
    db_path = legacy_database(tmp_path, {"msgbatch_mig1": lines})
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        index.migrate()
        assert not has_legacy_table(store)
        assert store.query("SELECT value FROM meta WHERE key = ?", (RESULTS_VERSION_KEY,)) == [
            (str(RESULTS_VERSION),)
        ]
        assert index.is_complete("msgbatch_mig1")
        over = index.items("msgbatch_mig1", GroupKey("errored", "overloaded_error"))
        assert [i.custom_id for i in over] == ["over-0", "over-1", "over-2"]
        assert orjson.loads(index.raw_line(over[0])) == lines[20]  # offsets still valid
        assert len(index.custom_ids("msgbatch_mig1")) == len(lines)
        assert index.cost_sums("msgbatch_mig1")[0] > 0
        index.migrate()  # idempotent
        assert index.is_complete("msgbatch_mig1")


def test_migration_keeps_the_items_of_an_archived_batch_without_its_raw_file(tmp_path: Path) -> None:
    """An old database listed an archived batch's failures without the raw file: they stay browsable,
    and the inspector says the full line is not here."""
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_arch", lines, archived=True)
    db_path = legacy_database(tmp_path, {batch.id: lines})
    (tmp_path / "results" / f"{batch.id}.jsonl").unlink()
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        index.mark_unavailable(batch, "archived", datetime(2026, 12, 22, tzinfo=UTC))
        service = ResultsService(index, Settings(), ManualClock())
        assert not service.is_indexed(batch.id)
        service.prepare()
        assert service.is_indexed(batch.id) and not index.has_local_copy(batch.id)
        bad = index.items(batch.id, GroupKey("errored", "invalid_request_error"))
        assert [(i.custom_id, i.error_message) for i in bad] == [("bad-1", "max_tokens: too large")]
        assert index.pretty(bad[0]) == RAW_LINE_MISSING
        assert not has_legacy_table(store)


def test_a_crash_mid_migration_keeps_the_old_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = lines_of_batch()
    db_path = legacy_database(tmp_path, {"msgbatch_c1": lines, "msgbatch_c2": lines, "msgbatch_c3": lines})
    real = ResultsIndex._install_items
    calls = 0

    def dying(self: ResultsIndex, batch_id: str, temp: Path) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        real(self, batch_id, temp)

    monkeypatch.setattr(ResultsIndex, "_install_items", dying)
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        with pytest.raises(KeyboardInterrupt):
            index.migrate()
        assert has_legacy_table(store)
        assert store.query("SELECT count(*) FROM result_items")[0][0] == 3 * len(lines)
        assert not list((tmp_path / "results").glob(".*.part"))
    monkeypatch.setattr(ResultsIndex, "_install_items", real)
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        index.migrate()
        assert not has_legacy_table(store)
        for batch_id in ("msgbatch_c1", "msgbatch_c2", "msgbatch_c3"):
            assert index.is_complete(batch_id) and len(index.custom_ids(batch_id)) == len(lines)


def test_the_space_of_the_old_table_is_given_back(tmp_path: Path) -> None:
    db_path = legacy_database(tmp_path, {"msgbatch_big": lines_of_batch(4000)})
    before = db_path.stat().st_size
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        index.migrate()
        assert store.query("PRAGMA freelist_count")[0][0] == 0
        store.query("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db_path.stat().st_size < before / 2


def test_ingest_migrates_first(tmp_path: Path) -> None:
    lines = lines_of_batch()
    db_path = legacy_database(tmp_path, {"msgbatch_ing": lines})
    with Store.open(db_path) as store, ResultsIndex(store, tmp_path / "results") as index:
        report = ingest("msgbatch_ing", index, source=lambda: pytest.fail("no download"))
        assert not report.downloaded and index.is_complete("msgbatch_ing")
        assert not has_legacy_table(store)


# -------------------------------------------------------------------------- a failed rebuild keeps all


def test_a_cancelled_rebuild_keeps_groups_and_cost(index: ResultsIndex) -> None:
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_keep", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
    cost = batch_cost(batch.id, index.usage_groups(batch.id)).batch_cost
    groups = index.groups(batch.id)
    assert cost > 0
    index.items_path(batch.id).unlink()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(IngestCancelled):
        ingest(batch.id, index, batch=batch, cancel=cancel)
    assert batch_cost(batch.id, index.usage_groups(batch.id)).batch_cost == cost
    assert index.groups(batch.id) == groups
    assert index.file(batch.id) is not None and index.has_local_copy(batch.id)
    assert not list(index.directory.glob(".*.part"))


def test_a_failed_download_keeps_what_was_complete(index: ResultsIndex) -> None:
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_keep2", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
    groups, usage = index.groups(batch.id), index.usage_groups(batch.id)
    index.raw_path(batch.id).unlink()  # a fresh download, which fails for good

    @contextmanager
    def refused() -> Iterator[Iterable[bytes]]:
        raise PermissionError(errno.EACCES, "denied")
        yield []  # pragma: no cover

    with pytest.raises(IngestError):
        ingest(batch.id, index, batch=batch, source=refused, attempts=1)
    assert index.groups(batch.id) == groups and index.usage_groups(batch.id) == usage


# ------------------------------------------------------------------------------ the service's rebuild


def test_the_service_rebuild_passes_progress_cancel_and_now(index: ResultsIndex) -> None:
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_svc", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
    clock = ManualClock(datetime(2026, 11, 30, 12, tzinfo=UTC))
    service = ResultsService(index, Settings(), clock)
    assert service.cost(batch.id) is not None
    version = service.version
    index.items_path(batch.id).unlink()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(IngestCancelled):
        service.ensure(batch, cancel=cancel)
    assert service.version > version  # the cache dropped on the failing path too
    version = service.version
    service.cost(batch.id)
    seen: list[int] = []
    service.ensure(batch, progress=lambda p: seen.append(p.items_done))
    assert seen and seen[-1] == len(lines)
    assert service.version > version
    info = index.file(batch.id)
    assert info is not None and info.ingested_at == clock.now()


# ------------------------------------------------------------------------------------- durable renames


def test_the_directory_is_synced_after_both_renames_and_before_the_record(
    index: ResultsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_replace, real_sync, real_commit = os.replace, fsio.sync_directory, ingest_module.commit

    def replace(src: Any, dst: Any) -> None:
        events.append("replace")
        real_replace(src, dst)

    def sync(directory: Path) -> None:
        events.append("sync")
        real_sync(directory)

    def commit(*args: Any) -> None:
        events.append("commit")
        real_commit(*args)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(fsio, "sync_directory", sync)
    monkeypatch.setattr(ingest_module, "commit", commit)
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_sync", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
    assert events == ["replace", "replace", "sync", "commit"]
    events.clear()
    index.items_path(batch.id).unlink()
    ingest(batch.id, index, batch=batch)
    assert events == ["replace", "sync", "commit"]


# ---------------------------------------------------------------------------------- token counts, disk


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": 2**63},
        {"output_tokens": 2**64 - 1},
        {"input_tokens": 2**63 + 5, "output_tokens": -(2**63)},
        {"cache_read_input_tokens": parse.MAX_TOKEN_COUNT + 1},
    ],
)
def test_an_oversized_token_count_flags_the_line(index: ResultsIndex, usage: dict[str, int]) -> None:
    lines = [succeeded("ok-1"), succeeded("huge", **usage), succeeded("ok-2")]
    batch = ended_batch("msgbatch_huge", lines)
    report = ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 64))
    assert report.state is FileState.COMPLETE and report.invalid == 1 and report.items == 3
    [flagged] = index.items(batch.id, GroupKey(schema.INVALID, "invalid_line"))
    assert flagged.custom_id == "huge"
    assert [u.requests for u in index.usage_groups(batch.id)] == [2]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_a_full_or_read_only_disk_is_not_retried(
    index: ResultsIndex, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_disk", lines)
    opened = 0

    def source() -> Any:
        nonlocal opened
        opened += 1
        return chunked(jsonl(lines), 37)()

    def full(fd: int, buffers: Any) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "writev", full)
    with pytest.raises(IngestError):
        ingest(batch.id, index, batch=batch, source=source, attempts=3, sleep=lambda _: None)
    assert opened == 1
    assert index.file(batch.id) is None and list(index.directory.iterdir()) == []


def test_a_failed_attempt_is_discarded_once(index: ResultsIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_once", lines)
    data = jsonl(lines)
    attempts = 0

    @contextmanager
    def flaky() -> Iterator[Iterable[bytes]]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionResetError(errno.ECONNRESET, "reset")
        yield [data]

    discarded: list[Path] = []
    real = ingest_module._discard

    def counting(*args: Any) -> None:
        discarded.append(args[-1])
        real(*args)

    monkeypatch.setattr(ingest_module, "_discard", counting)
    report = ingest(batch.id, index, batch=batch, source=flaky, sleep=lambda _: None)
    assert report.attempts == 2 and len(discarded) == 1


# ---------------------------------------------------------------------------- where the raw file is


def test_a_moved_data_directory_finds_the_raw_file(tmp_path: Path) -> None:
    """The recorded path and the current results directory: both answer, the current one first."""
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_moved", lines)
    old, new = tmp_path / "old", tmp_path / "new"
    with Store.open(tmp_path / "db.sqlite3") as store:
        with ResultsIndex(store, old) as index:
            ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
        new.mkdir()
        os.replace(old / f"{batch.id}.jsonl", new / f"{batch.id}.jsonl")  # the files moved, the record not
        with ResultsIndex(store, new) as index:
            assert index.has_local_copy(batch.id)
            report = ingest(batch.id, index, source=lambda: pytest.fail("no download"))
            assert not report.downloaded and index.is_complete(batch.id)
            [bad] = index.items(batch.id, GroupKey("errored", "invalid_request_error"))
            assert orjson.loads(index.raw_line(bad))["custom_id"] == "bad-1"
        other_dir = tmp_path / "elsewhere"
        with ResultsIndex(store, other_dir) as index:  # only the recorded path has it now
            assert index.has_local_copy(batch.id)
            report = ingest(batch.id, index, source=lambda: pytest.fail("no download"))
            assert not report.downloaded and index.is_complete(batch.id)


def test_readers_of_the_index_close_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from batchboard.core import jobs
    from batchboard.core.submit.attach import result_custom_ids
    from batchboard.core.submit.intents import SubmitError

    closed = 0
    real = ResultsIndex.close

    def counting(self: ResultsIndex) -> None:
        nonlocal closed
        closed += 1
        real(self)

    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path))
    lines = lines_of_batch()
    batch = ended_batch("msgbatch_close", lines)
    with Store.open(tmp_path / "db.sqlite3") as store:
        with ResultsIndex(store) as index:
            ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
        monkeypatch.setattr(ResultsIndex, "close", counting)
        assert result_custom_ids(store, batch.id) is not None
        assert closed == 1
        current = jobs.job(store, batch.id)
        assert closed == 2
        list(jobs.merged_lines(store, current))
        assert closed == 3
        with pytest.raises(SubmitError):
            jobs.plan_retry(store, "msgbatch_none", jobs.Selection.parse(None))
        assert closed == 4


def test_migration_of_an_in_memory_store(tmp_path: Path) -> None:
    """Without a file to attach, the rows are copied through the store's own connection."""
    store = Store.memory()
    store.execute("DROP TABLE IF EXISTS result_items")  # nothing registered creates it any more
    with store.transaction() as db:
        db.executescript(LEGACY_DDL)
    row = ("errored", "overloaded_error", "Overloaded", None, None, 0, 0, 0, 0, 0, 0, None, None)
    for line, custom_id in enumerate(["b", "a", "c"]):
        store.execute(
            f"INSERT INTO result_items VALUES (?, ?, ?, {','.join('?' * 15)})",
            ("msgbatch_mem", line, custom_id, *row, line * 10, 10),
        )
    with ResultsIndex(store, tmp_path / "results") as index:
        index.migrate()
        assert not has_legacy_table(store)
        assert index.custom_ids("msgbatch_mem") == ["b", "a", "c"]
        assert [i.line for i in index.items("msgbatch_mem", GroupKey("errored", "overloaded_error"))] == [
            1,
            0,
            2,
        ]
    store.close()


def test_job_retry_and_attach_readers_see_an_old_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They run in threads: they move an older database's items first, rather than finding none."""
    from batchboard.core import jobs
    from batchboard.core.submit.attach import result_custom_ids

    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path))
    lines = lines_of_batch()
    db_path = legacy_database(tmp_path, {"msgbatch_old1": lines, "msgbatch_old2": lines})
    with Store.open(db_path) as store:
        assert result_custom_ids(store, "msgbatch_old1") == [line["custom_id"] for line in lines]
        assert jobs.job(store, "msgbatch_old2").without_results == []
        assert not has_legacy_table(store)
