"""Ingestion through the real SDK against the emulator: every line indexed, a dropped connection retried,
archived batches unavailable, and the indexed numbers equal to the SDK's own typed view of the results."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from anthropic import Anthropic
from anthropic.types.messages import MessageBatchIndividualResponse

from batchboard.core.clock import ManualClock
from batchboard.core.pricing import TokenCounts
from batchboard.core.results.index import FileState, GroupKey, ResultsIndex
from batchboard.core.results.ingest import IngestError, ingest
from batchboard.emulator import Emulator, EmulatorSettings, Fault


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[tuple[Emulator, str]]:
    emu = Emulator(EmulatorSettings(seed=3, demo=False), clock=clock)
    with emu.running_in_thread() as base_url:
        yield emu, base_url


@pytest.fixture
def client(emulator: tuple[Emulator, str]) -> Iterator[Anthropic]:
    with Anthropic(
        api_key="sk-ant-emulator", base_url=emulator[1], max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def ended(emu: Emulator, clock: ManualClock, **kwargs: object) -> str:
    batch_id = emu.add_batch(created_at=clock.now() - timedelta(hours=2), duration=60, **kwargs)  # type: ignore[arg-type]
    return batch_id


def test_ingest_matches_the_sdk_view(
    emulator: tuple[Emulator, str], clock: ManualClock, client: Anthropic, index: ResultsIndex
) -> None:
    emu, _ = emulator
    batch_id = ended(
        emu, clock, count=300, error_rate=0.2, invalid_rate=0.05, cache_ttl="1h", system_tokens=2000
    )
    report = ingest(batch_id, index, client=client)
    assert report.state is FileState.COMPLETE and report.downloaded and report.items == 300

    typed = list(client.messages.batches.results(batch_id))
    assert report.path is not None
    for raw in report.path.read_bytes().splitlines():
        MessageBatchIndividualResponse.model_validate(orjson.loads(raw))
    # Group counts equal the SDK's own view.
    expected: dict[tuple[str, str], int] = {}
    usage = TokenCounts()
    for r in typed:
        key = (r.result.type, r.result.error.error.type if r.result.type == "errored" else "")
        expected[key] = expected.get(key, 0) + 1
        if r.result.type == "succeeded":
            usage = usage + TokenCounts.from_usage(r.result.message.usage.model_dump())
    assert {(g.key.result_type, g.key.error_type): g.count for g in index.groups(batch_id)} == expected
    assert any(k[1] == "invalid_request_error" for k in expected)
    total = TokenCounts()
    for group in index.usage_groups(batch_id):
        total = total + group.tokens
    assert total == usage
    # One errored item opens straight from its offset.
    problem = index.problem_groups(batch_id)[0]
    (item,) = index.items(batch_id, problem.key, limit=1)
    assert orjson.loads(index.raw_line(item))["custom_id"] == item.custom_id


def test_dropped_connection_is_retried(
    emulator: tuple[Emulator, str], clock: ManualClock, client: Anthropic, index: ResultsIndex
) -> None:
    emu, _ = emulator
    batch_id = ended(emu, clock, count=50)
    emu.faults.add(Fault(kind="drop_before", method="GET", path=f"/v1/messages/batches/{batch_id}/results"))
    report = ingest(batch_id, index, client=client, sleep=lambda _: None)
    assert report.attempts == 2 and report.items == 50


def test_persistent_failure_is_reported_in_plain_words(
    emulator: tuple[Emulator, str], clock: ManualClock, client: Anthropic, index: ResultsIndex
) -> None:
    emu, _ = emulator
    batch_id = ended(emu, clock, count=10)
    emu.faults.add(
        Fault(kind="overloaded", method="GET", path=f"/v1/messages/batches/{batch_id}/results", times=3)
    )
    with pytest.raises(IngestError, match=r"after 3 attempts.*529"):
        ingest(batch_id, index, client=client, sleep=lambda _: None)
    assert index.file(batch_id) is None and not index.raw_path(batch_id).exists()


def test_archived_batch_is_unavailable_but_a_local_copy_stays(
    emulator: tuple[Emulator, str], clock: ManualClock, client: Anthropic, index: ResultsIndex
) -> None:
    emu, _ = emulator
    kept = ended(emu, clock, count=20)
    lost = ended(emu, clock, count=20)
    ingest(kept, index, client=client)
    clock.advance(days=30)
    assert ingest(lost, index, client=client).state is FileState.UNAVAILABLE
    again = ingest(kept, index, client=client)
    assert again.state is FileState.COMPLETE and not again.downloaded
    assert index.items(kept, GroupKey("succeeded"), limit=5)


def test_not_ended_batch_is_refused(
    emulator: tuple[Emulator, str], clock: ManualClock, client: Anthropic, index: ResultsIndex
) -> None:
    emu, _ = emulator
    running = emu.add_batch(count=5, duration=3600)
    with pytest.raises(IngestError, match="not ended"):
        ingest(running, index, client=client)
