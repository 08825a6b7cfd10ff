"""Ingestion and index queries without a network: chunk boundaries, offsets, groups, paging, atomicity."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import HOSTILE
from tests.results.helpers import chunked, ended_batch, errored, jsonl, other, succeeded

from batchboard.core.results import (
    FileState,
    GroupKey,
    IngestCancelled,
    IngestError,
    ResultsIndex,
    Retryability,
    ingest,
)
from batchboard.core.store import Store


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ResultsIndex]:
    store = Store.open(tmp_path / "db.sqlite3")
    yield ResultsIndex(store, tmp_path / "results")
    store.close()


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


def test_failure_after_retries_leaves_nothing(index: ResultsIndex) -> None:
    lines = mixed_lines()
    data = jsonl(lines)
    batch = ended_batch("msgbatch_fail", lines)

    @contextmanager
    def dropping() -> Iterator[Iterable[bytes]]:
        def gen() -> Iterator[bytes]:
            yield data[:100]
            raise ConnectionResetError("peer went away")

        yield gen()

    with pytest.raises(IngestError, match="after 2 attempts"):
        ingest(batch.id, index, batch=batch, source=lambda: dropping(), attempts=2, sleep=lambda _: None)
    assert index.file(batch.id) is None
    assert index.groups(batch.id) == []
    assert not index.raw_path(batch.id).exists()
    assert list(index.directory.iterdir()) == []
    assert index.store.query("SELECT count(*) FROM result_items")[0][0] == 0


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
