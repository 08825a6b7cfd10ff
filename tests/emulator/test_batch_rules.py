"""Listing and pagination both ways, cancel, expiry, archive and delete rules, through the SDK."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import anthropic
import pytest
from tests.emulator.conftest import request, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator


def add_history(emulator: Emulator, clock: ManualClock, count: int) -> list[str]:
    """`count` batches created a minute apart; returned newest first."""
    ids = [
        emulator.add_batch(count=3, created_at=clock.now() - timedelta(minutes=count - i), duration=60)
        for i in range(count)
    ]
    return ids[::-1]


def test_list_is_newest_first_and_auto_paginates(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    expected = add_history(emulator, clock, 45)
    first = client.messages.batches.list()
    assert [b.id for b in first.data] == expected[:20]  # default limit 20
    assert first.has_more and first.first_id == expected[0] and first.last_id == expected[19]
    assert [b.id for b in client.messages.batches.list(limit=7)] == expected
    calls = [entry for entry in emulator.request_log if entry == ("GET", "/v1/messages/batches")]
    assert len(calls) == 1 + 7  # one page of 20, then ceil(45 / 7) pages


def test_before_id_pages_towards_newer_batches(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    expected = add_history(emulator, clock, 30)
    page = client.messages.batches.list(before_id=expected[25], limit=4)
    assert [b.id for b in page.data] == expected[21:25]
    assert page.has_more
    newer = list(client.messages.batches.list(before_id=expected[25], limit=4))
    assert sorted(b.id for b in newer) == sorted(expected[:25])
    top = client.messages.batches.list(before_id=expected[2], limit=10)
    assert [b.id for b in top.data] == expected[:2] and not top.has_more
    after = client.messages.batches.list(after_id=expected[27], limit=10)
    assert [b.id for b in after.data] == expected[28:] and not after.has_more


@pytest.mark.parametrize("limit", [0, 1001])
def test_limit_out_of_range_is_a_bad_request(client: anthropic.Anthropic, limit: int) -> None:
    with pytest.raises(anthropic.BadRequestError, match="limit"):
        client.messages.batches.list(limit=limit)


def test_cancel_goes_through_canceling_to_ended_with_canceled_counts(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    batch = client.messages.batches.create(requests=[request(f"c{i}") for i in range(100)])
    clock.advance(300)  # half way through a 600 s batch
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at == clock.now()
    assert canceling.request_counts.processing == 100
    with pytest.raises(anthropic.BadRequestError, match="canceling"):
        client.messages.batches.cancel(batch.id)
    clock.advance(20)  # the cancel delay is 10% of the duration, capped at 20 s
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    counts = ended.request_counts
    assert counts.processing == 0 and counts.canceled > 0 and counts.succeeded > 0
    assert counts.succeeded + counts.errored + counts.canceled + counts.expired == 100
    assert ended.ended_at is not None and ended.ended_at < batch.created_at + timedelta(seconds=600)
    lines = validated_results(client, batch.id)
    assert sum(line.result.type == "canceled" for line in lines) == counts.canceled
    with pytest.raises(anthropic.BadRequestError, match="ended"):
        client.messages.batches.cancel(batch.id)


def test_a_short_batch_cancels_quickly(emulator: Emulator, clock: ManualClock) -> None:
    batch_id = emulator.add_batch(count=10, created_at=clock.now(), duration=1.0)
    emulator.store.cancel(batch_id, clock.now())
    assert emulator.store.get(batch_id).status(clock.now()) == "canceling"
    clock.advance(0.15)  # past the short batch's cancel delay (0.1 s), on the injected clock
    assert emulator.store.get(batch_id).status(clock.now()) == "ended"


def test_unfinished_requests_expire_at_24_hours(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    batch_id = emulator.add_batch(count=1000, created_at=clock.now(), duration=48 * 3600)
    clock.advance(hours=23, minutes=59)
    assert client.messages.batches.retrieve(batch_id).processing_status == "in_progress"
    clock.advance(minutes=1)
    ended = client.messages.batches.retrieve(batch_id)
    assert ended.processing_status == "ended" and ended.ended_at == ended.expires_at
    assert 450 <= ended.request_counts.expired <= 550  # half the planned 48 h had not run
    assert ended.request_counts.succeeded + ended.request_counts.expired == 1000
    lines = validated_results(client, batch_id)
    assert sum(line.result.type == "expired" for line in lines) == ended.request_counts.expired


def test_archived_after_29_days_results_unavailable(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    batch_id = emulator.add_batch(count=5, created_at=clock.now(), duration=60)
    clock.advance(days=28, hours=23)
    assert client.messages.batches.retrieve(batch_id).archived_at is None
    assert len(validated_results(client, batch_id)) == 5
    clock.advance(hours=1)
    batch = client.messages.batches.retrieve(batch_id)
    assert batch.archived_at == batch.created_at + timedelta(days=29)
    with pytest.raises(anthropic.NotFoundError, match="archived"):
        list(client.messages.batches.results(batch_id))


def test_delete_only_once_ended_then_gone(client: anthropic.Anthropic, clock: ManualClock) -> None:
    batch = client.messages.batches.create(requests=[request("d")])
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.batches.delete(batch.id)
    assert batch.id in str(caught.value) and "ancel" in str(caught.value)
    clock.advance(600)
    deleted = client.messages.batches.delete(batch.id)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.delete(batch.id)
    assert batch.id not in [b.id for b in client.messages.batches.list()]


def test_ten_thousand_batches_are_cheap_to_add_and_list(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    from batchboard.emulator.synthetic import SyntheticRequests

    for i in range(10_000):
        emulator.add_batch(count=1000, created_at=clock.now() - timedelta(seconds=i), duration=3600 * (i % 3))
    # Cheap by construction (no wall-clock bound: those flake on a loaded machine): nothing per request
    # is stored, a batch's requests are synthesized on demand, and a page of 1,000 is one request.
    batches = emulator.store.all()
    assert len(batches) == 10_000
    assert all(isinstance(b.source, SyntheticRequests) for b in batches)
    assert emulator.store.attempts == {}
    page = client.messages.batches.list(limit=1000)
    assert len(page.data) == 1000 and page.has_more
    assert emulator.request_log.count(("GET", "/v1/messages/batches")) == 1


async def test_async_auto_pagination_both_ways(
    async_client: anthropic.AsyncAnthropic, async_emulator: Emulator, clock: ManualClock
) -> None:
    expected = add_history(async_emulator, clock, 23)
    older = [batch.id async for batch in async_client.messages.batches.list(limit=5)]
    assert older == expected
    newer = [batch.id async for batch in async_client.messages.batches.list(before_id=expected[-1], limit=5)]
    assert sorted(newer) == sorted(expected[:-1])


@pytest.mark.parametrize("seconds", [1, 30, 60, 90, 110])
def test_counts_and_results_agree_at_any_cancel_instant(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock, seconds: int
) -> None:
    start = clock.now()
    batch_id = emulator.add_batch(count=10, created_at=start, duration=120, error_rate=0.2, cancel_delay=0)
    clock.advance(seconds)
    emulator.store.cancel(batch_id, clock.now())
    clock.advance(1)
    counts = client.messages.batches.retrieve(batch_id).request_counts
    kinds = Counter(line.result.type for line in validated_results(client, batch_id))
    assert kinds == Counter({k: v for k, v in counts.model_dump().items() if v and k != "processing"})
