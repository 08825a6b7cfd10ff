"""Ingestion and index queries without a network: chunk boundaries, offsets, groups, paging, atomicity."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import HOSTILE
from tests.results.helpers import chunked, ended_batch, errored, jsonl, legacy_database, other, succeeded

from batchboard.core.results.index import FileState, GroupKey, ResultsIndex, Retryability
from batchboard.core.results.ingest import IngestCancelled, IngestError, ingest
from batchboard.core.store import Store


def mixed_lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [succeeded(f"ok-{i:03d}") for i in range(20)]
    lines += [errored(f"over-{i}") for i in range(5)]
    lines += [
        errored("bad-1", "invalid_request_error", HOSTILE),
        errored("bad-2", "invalid_request_error", "x"),
    ]
    lines += [other("gone-1", "expired"), other("stop-1", "canceled"), other("stop-2", "canceled")]
    return lines


def test_ingest_indexes_every_line_with_exact_offsets(index: ResultsIndex) -> None:
    lines = mixed_lines()
    data = jsonl(lines)
    batch = ended_batch("msgbatch_local1", lines)
    report = ingest(batch.id, index, batch=batch, source=chunked(data, 37))
    assert report.state is FileState.COMPLETE and report.downloaded
    assert report.items == len(lines) and report.bytes == len(data)
    assert report.path is not None and report.path.read_bytes() == data
    groups = index.groups(batch.id)
    summary = {(g.key.result_type, g.key.error_type): (g.count, g.retryability) for g in groups}
    assert summary == {
        ("errored", "overloaded_error"): (5, Retryability.RETRYABLE),
        ("errored", "invalid_request_error"): (2, Retryability.NEEDS_FIX),
        ("canceled", ""): (2, Retryability.ON_REQUEST),
        ("expired", ""): (1, Retryability.RETRYABLE),
        ("succeeded", ""): (20, Retryability.NOT_APPLICABLE),
    }
    assert groups[-1].key.result_type == "succeeded"  # problems first
    bad = index.items(batch.id, GroupKey("errored", "invalid_request_error"))
    assert [i.custom_id for i in bad] == ["bad-1", "bad-2"]
    assert bad[0].error_message == HOSTILE
    assert orjson.loads(index.raw_line(bad[0])) == lines[25]
    # Every item's offset/length points at exactly its own line.
    for item in index.items(batch.id, GroupKey("succeeded"), limit=1000):
        assert orjson.loads(index.raw_line(item))["custom_id"] == item.custom_id


def test_paging_and_filter(index: ResultsIndex) -> None:
    lines = [succeeded(f"row-{i:04d}") for i in range(250)]
    batch = ended_batch("msgbatch_paging", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 4096))
    key = GroupKey("succeeded")
    first = index.items(batch.id, key, limit=100)
    second = index.items(batch.id, key, after=first[-1].cursor, limit=100)
    third = index.items(batch.id, key, after=second[-1].cursor, limit=100)
    ids = [i.custom_id for i in first + second + third]
    assert ids == [f"row-{i:04d}" for i in range(250)]
    assert [i.custom_id for i in index.items(batch.id, key, contains="-01")] == [
        f"row-01{i:02d}" for i in range(100)
    ]
    assert index.find(batch.id, "row-0042") is not None
    assert index.find(batch.id, "nope") is None


def test_usage_and_costs_are_recorded(index: ResultsIndex) -> None:
    lines = [
        succeeded(
            "a",
            input_tokens=1000,
            output_tokens=500,
            cache_creation_input_tokens=6000,
            cache_read_input_tokens=10000,
            cache_creation={"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 4000},
        ),
        errored("b"),
    ]
    batch = ended_batch("msgbatch_cost", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 1 << 16))
    (usage,) = index.usage_groups(batch.id)
    assert usage.requests == 1
    assert usage.tokens.as_dict() == {
        "input": 1000,
        "output": 500,
        "cache_write_5m": 2000,
        "cache_write_1h": 4000,
        "cache_read": 10000,
    }
    item = index.find(batch.id, "a")
    assert item is not None and item.cost_batch == pytest.approx(0.0225)  # see test_cost: 0.045 standard


def test_truncated_download_is_retried_and_never_kept(index: ResultsIndex) -> None:
    lines = mixed_lines()
    data = jsonl(lines)
    batch = ended_batch("msgbatch_trunc", lines)
    calls = []

    def flaky() -> Any:
        @contextmanager
        def source() -> Iterator[Iterable[bytes]]:
            calls.append(1)
            yield [data[: len(data) // 2]] if len(calls) < 3 else [data]

        return source

    report = ingest(batch.id, index, batch=batch, source=flaky(), sleep=lambda _: None)
    assert report.attempts == 3 and report.items == len(lines)
    assert not list((index.directory).glob("*.part"))


@pytest.mark.parametrize(("attempts", "said"), [(1, "after 1 attempt: "), (2, "after 2 attempts: ")])
def test_failure_after_retries_leaves_nothing(index: ResultsIndex, attempts: int, said: str) -> None:
    lines = mixed_lines()
    data = jsonl(lines)
    batch = ended_batch("msgbatch_fail", lines)

    @contextmanager
    def dropping() -> Iterator[Iterable[bytes]]:
        def gen() -> Iterator[bytes]:
            yield data[:100]
            raise ConnectionResetError("peer went away")

        yield gen()

    with pytest.raises(IngestError, match=said):
        ingest(
            batch.id, index, batch=batch, source=lambda: dropping(), attempts=attempts, sleep=lambda _: None
        )
    assert index.file(batch.id) is None
    assert index.groups(batch.id) == []
    assert not index.raw_path(batch.id).exists()
    assert list(index.directory.iterdir()) == []
    assert index.outcomes(batch.id) == [] and not index.items_path(batch.id).exists()


@pytest.mark.parametrize(("count", "said"), [(1, "(0 of 1 result)"), (3, "(2 of 3 results)")])
def test_a_download_that_stops_early_says_how_far_it_got(index: ResultsIndex, count: int, said: str) -> None:
    lines = [succeeded(f"s{i}") for i in range(count)]
    batch = ended_batch("msgbatch_short", lines)
    short = jsonl(lines[:-1])  # whole lines, one short: only the count shows it

    with pytest.raises(IngestError, match=re.escape(f"the download stopped early {said}")):
        ingest(batch.id, index, batch=batch, source=chunked(short, 1 << 16), attempts=1, sleep=lambda _: None)
    assert index.file(batch.id) is None


def test_cancel_keeps_nothing(index: ResultsIndex) -> None:
    lines = [succeeded(f"c{i}") for i in range(100)]
    batch = ended_batch("msgbatch_cancel", lines)
    cancel = threading.Event()
    seen = []

    def progress(p: Any) -> None:
        seen.append(p)
        cancel.set()

    with pytest.raises(IngestCancelled):
        ingest(
            batch.id, index, batch=batch, source=chunked(jsonl(lines), 100), progress=progress, cancel=cancel
        )
    assert index.file(batch.id) is None
    assert not index.raw_path(batch.id).exists()


def test_second_ingest_uses_the_local_copy_and_rebuilds_a_lost_index(index: ResultsIndex) -> None:
    lines = mixed_lines()
    batch = ended_batch("msgbatch_again", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))

    def never() -> Any:
        raise AssertionError("must not download again")

    again = ingest(batch.id, index, batch=batch, source=never)
    assert not again.downloaded and again.items == len(lines)
    # Lose the index (a crash between rename and commit): it is rebuilt from the file, not downloaded.
    index.store.execute("DELETE FROM result_files")
    rebuilt = ingest(batch.id, index, batch=batch, source=never)
    assert not rebuilt.downloaded and rebuilt.items == len(lines)
    assert len(index.problem_groups(batch.id)) == 4


def test_archived_without_local_copy_is_unavailable(index: ResultsIndex) -> None:
    lines = mixed_lines()
    batch = ended_batch("msgbatch_old", lines, archived=True)
    report = ingest(batch.id, index, batch=batch, source=chunked(b"", 1))
    assert report.state is FileState.UNAVAILABLE
    info = index.file(batch.id)
    assert info is not None and info.state is FileState.UNAVAILABLE and "archived" in (info.message or "")


def test_invalid_lines_are_kept_and_flagged(index: ResultsIndex) -> None:
    data = jsonl([succeeded("fine")]) + b"not json\n" + b'{"custom_id": "x", "result": {"type": "weird"}}\n'
    batch = ended_batch("msgbatch_invalid", [succeeded("fine")])
    report = ingest(batch.id, index, batch=batch, source=chunked(data, 7))
    assert report.invalid == 2
    (group,) = index.problem_groups(batch.id)
    assert group.key.result_type == "invalid" and group.retryability is Retryability.NEEDS_FIX


def test_lines_of_filters_by_type(index: ResultsIndex) -> None:
    lines = mixed_lines()
    batch = ended_batch("msgbatch_lines", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 999))
    assert len(list(index.lines_of(batch.id))) == len(lines)
    assert len(list(index.lines_of(batch.id, {"canceled", "expired"}))) == 3


def test_each_item_is_priced_like_the_rate_card_in_both_bands(index: ResultsIndex) -> None:
    from batchboard.core.pricing import TokenCounts, price_for

    long = {"input_tokens": 90_000, "cache_read_input_tokens": 20_000, "output_tokens": 700}
    lines = [
        succeeded("short", "claude-haiku-5-5", input_tokens=1200, output_tokens=300),
        succeeded("long", "claude-haiku-5-5", **long),
        succeeded("other", "claude-sonnet-4-6", input_tokens=10, output_tokens=20),
        succeeded("unpriced", "claude-nobody-1", input_tokens=10, output_tokens=20),
    ]
    batch = ended_batch("msgbatch_bands", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 100))
    total_batch = total_standard = 0.0
    for line in lines[:3]:
        item = index.find(batch.id, line["custom_id"])
        assert item is not None and item.model is not None
        price = price_for(item.model)
        assert price is not None
        tokens = TokenCounts(*item.tokens.as_dict().values())
        assert item.cost_batch == pytest.approx(price.at_batch().cost(tokens), rel=1e-12)
        total_batch += price.at_batch().cost(tokens)
        total_standard += price.cost(tokens)
    unpriced = index.find(batch.id, "unpriced")
    assert unpriced is not None and unpriced.cost_batch is None
    assert index.cost_sums(batch.id) == pytest.approx((total_batch, total_standard), rel=1e-12)
    bands = {(u.model, u.long_prompt): u.requests for u in index.usage_groups(batch.id)}
    assert bands == {
        ("claude-haiku-5-5", False): 1,
        ("claude-haiku-5-5", True): 1,
        ("claude-sonnet-4-6", False): 1,
        ("claude-nobody-1", False): 1,
    }


def test_outcomes_and_custom_ids_in_file_order(index: ResultsIndex) -> None:
    lines = mixed_lines()
    batch = ended_batch("msgbatch_order", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 64))
    assert index.custom_ids(batch.id) == [line["custom_id"] for line in lines]
    problems = index.outcomes(batch.id, problems_only=True)
    assert [cid for cid, _, _, _ in problems] == [
        line["custom_id"] for line in lines if line["result"]["type"] != "succeeded"
    ]
    assert ("bad-1", "errored", "invalid_request_error", "") in problems
    assert index.outcomes("msgbatch_never") == [] and index.cost_sums("msgbatch_never") == (0.0, 0.0)


def test_a_crash_before_the_record_leaves_the_batch_not_done(
    index: ResultsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both files renamed into place but the process dies before the record is written: not done, and
    the next ingest indexes the local copy again instead of trusting what it finds."""
    import batchboard.core.results.ingest as ingest_module

    lines = mixed_lines()
    batch = ended_batch("msgbatch_crash", lines)

    def crash(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 64))
    monkeypatch.undo()
    assert index.file(batch.id) is None and not index.is_complete(batch.id)
    # Leftovers from a killed process (temp files) never count either; old ones are removed.
    import os
    import time

    stale = index.directory / f".{batch.id}.old.part"
    stale.write_bytes(b"{")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = index.directory / f".{batch.id}.x.items.part"  # perhaps another process's, still writing
    fresh.write_bytes(b"junk")

    def never() -> Any:
        raise AssertionError("the local copy is complete: no download")

    report = ingest(batch.id, index, batch=batch, source=never)
    assert not report.downloaded and report.items == len(lines)
    assert index.is_complete(batch.id) and len(index.problem_groups(batch.id)) == 4
    assert not stale.exists() and fresh.exists()


def test_a_crash_mid_download_keeps_nothing(index: ResultsIndex) -> None:
    lines = mixed_lines()
    data = jsonl(lines)
    batch = ended_batch("msgbatch_mid", lines)

    @contextmanager
    def dying() -> Iterator[Iterable[bytes]]:
        def gen() -> Iterator[bytes]:
            yield data[:300]
            raise KeyboardInterrupt

        yield gen()

    with pytest.raises(KeyboardInterrupt):
        ingest(batch.id, index, batch=batch, source=lambda: dying())
    assert index.file(batch.id) is None and list(index.directory.iterdir()) == []


def test_a_lost_items_file_is_rebuilt_from_the_local_copy(index: ResultsIndex) -> None:
    lines = mixed_lines()
    batch = ended_batch("msgbatch_lost", lines)
    ingest(batch.id, index, batch=batch, source=chunked(jsonl(lines), 500))
    before = index.items(batch.id, GroupKey("errored", "overloaded_error"))
    assert index.items_path(batch.id).is_file()
    index.items_path(batch.id).unlink()
    assert index.has_local_copy(batch.id) and not index.is_complete(batch.id)
    assert index.items(batch.id, GroupKey("errored", "overloaded_error")) == []

    def never() -> Any:
        raise AssertionError("must not download again")

    # No batch and no client: the record has what the rebuild needs.
    report = ingest(batch.id, index, source=never)
    assert not report.downloaded and report.items == len(lines)
    assert index.is_complete(batch.id)
    assert index.items(batch.id, GroupKey("errored", "overloaded_error")) == before


def test_a_database_from_before_items_files_is_migrated_by_ingest(tmp_path: Path) -> None:
    """An older batchboard kept every item in `result_items` of the shared database: opening leaves it
    (the move is slow, so it is done in a thread), and the first `ingest` moves the batch's rows to its
    items file and drops the table, without the network. (tests/results/test_ingest_review.py has more.)"""
    lines = mixed_lines()
    batch = ended_batch("msgbatch_legacy", lines)
    directory = tmp_path / "results"
    legacy_database(tmp_path, {batch.id: lines})

    with Store.open(tmp_path / "db.sqlite3") as store:
        index = ResultsIndex(store, directory)
        assert store.query("SELECT name FROM sqlite_master WHERE name = 'result_items'")
        assert index.has_local_copy(batch.id) and not index.is_complete(batch.id)
        assert len(index.problem_groups(batch.id)) == 4  # groups and usage sums were kept
        report = ingest(batch.id, index, source=lambda: pytest.fail("no download"))
        assert not report.downloaded and index.is_complete(batch.id)
        assert not store.query("SELECT name FROM sqlite_master WHERE name = 'result_items'")
        assert [i.custom_id for i in index.items(batch.id, GroupKey("canceled"))] == ["stop-1", "stop-2"]
        index.close()


def test_a_failing_disk_write_keeps_nothing(index: ResultsIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw file is written from a helper thread: its error still fails the attempt, and nothing stays."""
    import errno
    import os

    lines = mixed_lines()
    batch = ended_batch("msgbatch_full", lines)

    def full(fd: int, buffers: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", full)
    with pytest.raises(IngestError, match="No space left"):  # not retried: a full disk stays full
        ingest(
            batch.id,
            index,
            batch=batch,
            source=chunked(jsonl(lines), 37),
            attempts=2,
            sleep=lambda _: None,
        )
    assert index.file(batch.id) is None and list(index.directory.iterdir()) == []


def test_the_usage_sums_added_up_while_parsing_equal_those_read_off_the_items_file(
    index: ResultsIndex,
) -> None:
    """The parse adds the usage sums up as it reads (per model and price band, and per unusable class);
    they must be exactly what `usage_sums` reads off the finished items file, whatever the lines hold."""
    import sqlite3
    from contextlib import closing

    from tests.results.helpers import answer

    from batchboard.core.results.writers import usage_sums

    long = {"input_tokens": 90_000, "cache_read_input_tokens": 20_000, "output_tokens": 700}
    uneven = {  # more written than the breakdown says: the rest counts as 5-minute writes
        "cache_creation_input_tokens": 900,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 300},
    }
    lines: list[dict[str, Any]] = [
        succeeded("short", "claude-haiku-5-5", input_tokens=1200, output_tokens=300),
        succeeded("long", "claude-haiku-5-5", **long),
        succeeded("uneven", "claude-sonnet-4-6", **uneven),
        succeeded("no-breakdown", "claude-sonnet-4-6", cache_creation=None, cache_creation_input_tokens=40),
        succeeded("unpriced", "claude-nobody-1", input_tokens=10, output_tokens=20),
        answer("cut-long", "stops in the mi", "max_tokens", model="claude-haiku-5-5", **long),
        answer("cut", "stops", "model_context_window_exceeded"),
        answer("no", "", "refusal", model="claude-nobody-1"),
        errored("over"),
        other("gone", "expired"),
    ]
    shapeless = succeeded("shapeless")
    shapeless["result"]["message"]["usage"] = {"input_tokens": "many"}
    nameless = succeeded("nameless")
    del nameless["result"]["message"]["model"]
    lines += [shapeless, nameless]
    data = jsonl(lines) + b"not json\n"
    batch = ended_batch("msgbatch_sums", lines)
    ingest(batch.id, index, batch=batch, source=chunked(data, 97))

    with closing(sqlite3.connect(index.items_path(batch.id))) as db:
        expected_usage, expected_unusable = usage_sums(db)
    usage = {
        (r[0], r[1]): list(r[2:])
        for r in index.store.query(
            "SELECT model, long_prompt, requests, input_tokens, output_tokens, cache_write_5m, "
            "cache_write_1h, cache_read FROM result_usage WHERE batch_id = ?",
            (batch.id,),
        )
    }
    unusable = {
        (r[0], r[1], r[2]): list(r[3:])
        for r in index.store.query(
            "SELECT unusable, model, long_prompt, requests, input_tokens, output_tokens, cache_write_5m, "
            "cache_write_1h, cache_read FROM result_unusable_usage WHERE batch_id = ?",
            (batch.id,),
        )
    }
    assert usage == expected_usage and unusable == expected_unusable
    assert {key: sums[0] for key, sums in usage.items()} == {
        ("claude-haiku-5-5", 0): 1,
        ("claude-haiku-5-5", 1): 2,
        ("claude-sonnet-4-6", 0): 3,
        ("claude-nobody-1", 0): 2,
    }
    assert set(unusable) == {
        ("truncated", "claude-haiku-5-5", 1),
        ("truncated", "claude-sonnet-4-6", 0),
        ("refused", "claude-nobody-1", 0),
    }
    assert usage[("claude-sonnet-4-6", 0)][3] == 100 + 500 + 40  # 5-minute writes: given, the rest, all
