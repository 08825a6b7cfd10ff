"""The seeded demo world shows every state a user meets, and in-progress batches end while you watch."""

from __future__ import annotations

import json
import typing
from collections import Counter
from datetime import timedelta

import anthropic
import jsonschema
import pytest
from anthropic.types import Model
from tests.emulator.conftest import sync_client, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings

KNOWN_MODELS = set(typing.get_args(typing.get_args(Model)[0]))


@pytest.fixture
def demo(clock: ManualClock) -> typing.Iterator[tuple[Emulator, anthropic.Anthropic]]:
    emu = Emulator(EmulatorSettings(seed=0), clock=clock)
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        yield emu, sdk


def test_demo_world_is_built_lazily_and_compactly(clock: ManualClock) -> None:
    from batchboard.emulator.synthetic import SyntheticRequests

    emu = Emulator(EmulatorSettings(seed=3), clock=clock)
    assert len(emu.store) == 0  # nothing until asked for
    emu.ensure_demo()
    batches = emu.store.all()
    assert len(batches) >= 12
    # Compact, whatever the machine's speed: every batch's requests are synthesized on demand, none is
    # materialised, so building it costs a few objects per batch, not per request.
    assert all(isinstance(b.source, SyntheticRequests) for b in batches)
    assert emu.store.attempts == {}
    emu.ensure_demo()  # once only
    assert len(emu.store.all()) == len(batches)


def test_demo_world_covers_every_state(
    demo: tuple[Emulator, anthropic.Anthropic], clock: ManualClock
) -> None:
    _emu, sdk = demo
    batches = list(sdk.messages.batches.list(limit=100))
    assert len(batches) >= 12
    statuses = Counter(batch.processing_status for batch in batches)
    assert statuses["in_progress"] >= 4 and statuses["canceling"] == 1 and statuses["ended"] >= 6
    now = clock.now()
    assert [b.created_at for b in batches] == sorted((b.created_at for b in batches), reverse=True)
    assert any(b.archived_at is not None for b in batches)
    assert max(sum(b.request_counts.model_dump().values()) for b in batches) >= 50_000
    ended = [b for b in batches if b.processing_status == "ended"]
    assert any(
        b.request_counts.errored == b.request_counts.canceled == b.request_counts.expired == 0 for b in ended
    )
    assert any(b.request_counts.canceled for b in ended)
    assert any(b.request_counts.expired for b in ended)
    assert any(b.request_counts.errored for b in ended)
    in_progress = [b for b in batches if b.processing_status == "in_progress"]
    expiring = [b for b in in_progress if b.expires_at - now < timedelta(minutes=5)]
    assert len(expiring) == 1
    # Several created days apart, for cost totals over time.
    assert len({b.created_at.date() for b in batches}) >= 6


def test_demo_batches_end_while_you_watch(
    demo: tuple[Emulator, anthropic.Anthropic], clock: ManualClock
) -> None:
    _emu, sdk = demo
    before = {b.id: b for b in sdk.messages.batches.list(limit=100)}
    clock.advance(minutes=1, seconds=30)
    after_90s = {b.id: b for b in sdk.messages.batches.list(limit=100)}
    clock.advance(minutes=4)
    after = {b.id: b for b in sdk.messages.batches.list(limit=100)}
    newly_ended = [
        i
        for i, b in before.items()
        if b.processing_status != "ended" and after[i].processing_status == "ended"
    ]
    assert len(newly_ended) >= 4  # three ending, one expiring, and the canceling one
    assert any(after_90s[i].processing_status == "ended" for i in newly_ended)  # the first within ~a minute
    expired = [after[i] for i in newly_ended if after[i].request_counts.expired]
    assert len(expired) == 1 and expired[0].ended_at == expired[0].expires_at
    canceled = [after[i] for i in newly_ended if before[i].processing_status == "canceling"]
    assert len(canceled) == 1 and canceled[0].request_counts.canceled > 0
    assert any(after[i].processing_status == "in_progress" for i in before)  # some keep running for hours


def test_demo_results_are_valid_and_realistic(demo: tuple[Emulator, anthropic.Anthropic]) -> None:
    _emu, sdk = demo
    batches = [
        b
        for b in sdk.messages.batches.list(limit=100)
        if b.processing_status == "ended" and b.archived_at is None
    ]
    models: set[str] = set()
    error_kinds: set[str] = set()
    cache_reads = 0
    for batch in batches:
        total = sum(batch.request_counts.model_dump().values())
        if total > 2000:
            continue  # validating is slow; the large batches are counted in another test
        lines = validated_results(sdk, batch.id)
        assert len(lines) == total
        for line in lines:
            result = line.result
            if result.type == "succeeded":
                models.add(result.message.model)
                assert result.message.usage.service_tier == "batch"
                assert result.message.usage.input_tokens > 10 and result.message.usage.output_tokens > 0
                if result.message.stop_reason == "end_turn":
                    assert result.message.usage.output_tokens > 5
                cache_reads += bool(result.message.usage.cache_read_input_tokens)
            elif result.type == "errored":
                error_kinds.add(result.error.error.type)
    assert len(models) >= 4 and models <= KNOWN_MODELS
    assert error_kinds == {"overloaded_error", "api_error", "invalid_request_error"}
    assert cache_reads > 0


def test_demo_world_shows_succeeded_but_unusable_answers(demo: tuple[Emulator, anthropic.Anthropic]) -> None:
    """Schema requests (their outputs valid, except the few the demo asks to break), answers cut at
    max_tokens and refusals, all `succeeded`; the requests can be fetched to check them against."""
    emu, sdk = demo
    groups: Counter[str] = Counter()
    validators: dict[str, jsonschema.Draft202012Validator] = {}
    for batch in sdk.messages.batches.list(limit=100):
        total = sum(batch.request_counts.model_dump().values())
        if batch.processing_status != "ended" or batch.archived_at is not None or total > 2000:
            continue
        sent = {
            line["custom_id"]: line["params"]
            for line in map(json.loads, b"".join(emu.request_lines(batch.id)).splitlines())
        }
        assert len(sent) == total
        for line in validated_results(sdk, batch.id):
            if line.result.type != "succeeded":
                continue
            message = line.result.message
            if message.stop_reason in ("max_tokens", "refusal"):
                groups[message.stop_reason] += 1
                continue
            schema = sent[line.custom_id].get("output_config", {}).get("format", {}).get("schema")
            if schema is None:
                continue
            groups["schema"] += 1
            key = json.dumps(schema, sort_keys=True)
            check = validators.setdefault(key, jsonschema.Draft202012Validator(schema))
            try:
                if not check.is_valid(json.loads(message.content[0].text)):  # type: ignore[union-attr]
                    groups["invalid"] += 1
            except ValueError:
                groups["invalid"] += 1
    assert groups["schema"] > 500 and groups["max_tokens"] >= 20 and groups["refusal"] >= 5
    assert 5 <= groups["invalid"] <= 0.05 * groups["schema"]


def test_archived_demo_batch_has_no_results(demo: tuple[Emulator, anthropic.Anthropic]) -> None:
    _emu, sdk = demo
    archived = [b for b in sdk.messages.batches.list(limit=100) if b.archived_at is not None]
    assert archived
    with pytest.raises(anthropic.NotFoundError, match="archived"):
        list(sdk.messages.batches.results(archived[0].id))


@pytest.mark.slow
def test_large_demo_batch_streams_all_its_results(demo: tuple[Emulator, anthropic.Anthropic]) -> None:
    _emu, sdk = demo
    large = max(sdk.messages.batches.list(limit=100), key=lambda b: b.request_counts.succeeded)
    count = 0
    with sdk.messages.batches.with_streaming_response.results(large.id) as response:
        for line in response.iter_lines():
            count += bool(line)
    counts = large.request_counts
    assert count == counts.succeeded + counts.errored == 50_000


def test_every_demo_model_has_a_published_price() -> None:
    """The demo's cost totals are complete: no demo batch uses a model the bundled price table lacks."""
    from batchboard.core.pricing import bundled_table
    from batchboard.emulator.demo import DEMO_BATCHES

    table = bundled_table()
    assert [spec.model for spec in DEMO_BATCHES if table.lookup(spec.model) is None] == []
