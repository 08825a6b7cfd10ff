"""The Message Batches lifecycle through the real SDK: create, processing, end, results; both clients."""

from __future__ import annotations

from datetime import timedelta

import anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse
from tests.emulator.conftest import request, sync_client, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings


def test_create_then_counts_move_only_when_the_whole_batch_ends(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    batch = client.messages.batches.create(requests=[request(f"r-{i}") for i in range(40)])
    assert batch.id.startswith("msgbatch_") and len(batch.id) == len("msgbatch_") + 24
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 40
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert batch.results_url is None and batch.ended_at is None

    clock.advance(599)  # one second before the planned end: nothing has moved yet
    almost = client.messages.batches.retrieve(batch.id)
    assert almost.processing_status == "in_progress"
    assert almost.request_counts.processing == 40 and almost.request_counts.succeeded == 0

    clock.advance(1)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.succeeded == 40 and ended.request_counts.processing == 0
    assert ended.ended_at == batch.created_at + timedelta(seconds=600)
    assert ended.results_url is not None
    assert ended.results_url.startswith(str(client.base_url).rstrip("/"))
    assert "anthropic.com" not in ended.results_url


def test_results_are_valid_messages_derived_from_the_prompt(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    prompt = "Summarise the history of Roman aqueducts and their engineering in three bullet points."
    batch = client.messages.batches.create(
        requests=[request("short", prompt, max_tokens=5), request("full", prompt, max_tokens=2000)]
    )
    clock.advance(3600)
    results = {line.custom_id: line.result for line in validated_results(client, batch.id)}
    full = results["full"]
    assert full.type == "succeeded"
    message = full.message
    assert message.id.startswith("msg_") and message.model == "claude-haiku-5-5"
    assert message.stop_reason == "end_turn"
    text = message.content[0].text  # type: ignore[union-attr]
    assert "aqueducts" in text.lower() or "engineering" in text.lower()
    assert "lorem" not in text.lower()
    assert message.usage.service_tier == "batch"
    assert message.usage.input_tokens >= len(prompt) // 4
    assert message.usage.output_tokens > 5
    short = results["short"]
    assert short.type == "succeeded"
    assert short.message.stop_reason == "max_tokens" and short.message.usage.output_tokens == 5


def test_invalid_params_become_errored_results_naming_the_value(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    batch = client.messages.batches.create(
        requests=[
            request("ok"),
            request("too-long", max_tokens=200000),
            request("no-model", model="claude-nope"),
            request("bad-role", messages=[{"role": "robot", "content": "hi"}]),
            request("empty", messages=[]),
            request("hot", temperature=1.5),
            request("streamy", stream=True),
            {
                "custom_id": "no-max",
                "params": {"model": "claude-haiku-5-5", "messages": [{"role": "user", "content": "x"}]},
            },
        ]
    )
    assert batch.request_counts.processing == 8  # validation is asynchronous: the create succeeds
    clock.advance(600)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.request_counts.succeeded == 1 and ended.request_counts.errored == 7
    errors = {}
    for line in validated_results(client, batch.id):
        if line.result.type == "errored":
            assert line.result.error.error.type == "invalid_request_error"
            errors[line.custom_id] = line.result.error.error.message
    assert errors["too-long"] == (
        "max_tokens: 200000 > 64000, which is the maximum allowed number of output tokens "
        "for claude-haiku-5-5"
    )
    assert errors["no-model"] == "model: claude-nope"
    assert errors["bad-role"] == "messages.0.role: Input should be 'user' or 'assistant'"
    assert errors["empty"] == "messages: at least one message is required"
    # The SDK sends anthropic-version 2026-10-21, which no longer takes sampling parameters at all.
    assert errors["hot"] == "temperature: Extra inputs are not permitted"
    assert errors["streamy"].startswith("stream:")
    assert errors["no-max"] == "max_tokens: Field required"


def test_error_rate_fails_a_deterministic_share_with_retryable_errors(clock: ManualClock) -> None:
    settings = EmulatorSettings(seed=1, demo=False, batch_duration=10, error_rate=0.3)

    def run() -> dict[str, str]:
        emu = Emulator(settings, clock=clock)
        with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
            batch = sdk.messages.batches.create(requests=[request(f"q{i}") for i in range(200)])
            clock.advance(10)
            outcome = {}
            for line in validated_results(sdk, batch.id):
                kind = line.result.type
                if line.result.type == "errored":
                    kind = line.result.error.error.type
                outcome[line.custom_id] = kind
            return outcome

    first, second = run(), run()
    assert first == second
    kinds = set(first.values())
    assert kinds == {"succeeded", "overloaded_error", "api_error"}
    failed = sum(kind != "succeeded" for kind in first.values())
    assert 35 <= failed <= 85  # about 30% of 200


def test_same_seed_gives_same_ids_and_another_seed_does_not(clock: ManualClock) -> None:
    def ids(seed: int) -> list[str]:
        emu = Emulator(EmulatorSettings(seed=seed, demo=True), clock=clock)
        with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
            created = sdk.messages.batches.create(requests=[request("a")])
            return [batch.id for batch in sdk.messages.batches.list(limit=100)] + [created.id]

    assert ids(5) == ids(5)
    assert set(ids(5)).isdisjoint(ids(6))


def test_cache_control_reports_cache_writes_and_reads(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    system = [
        {
            "type": "text",
            "text": "You triage support tickets. " * 300,
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    batch = client.messages.batches.create(requests=[request(f"c{i}", system=system) for i in range(60)])
    clock.advance(600)
    writes = reads = 0
    for line in validated_results(client, batch.id):
        assert line.result.type == "succeeded"
        usage = line.result.message.usage
        assert usage.cache_creation is not None
        assert usage.cache_creation.ephemeral_5m_input_tokens == 0
        if usage.cache_creation_input_tokens:
            writes += 1
            assert usage.cache_creation.ephemeral_1h_input_tokens == usage.cache_creation_input_tokens
            assert usage.cache_read_input_tokens == 0
        else:
            reads += 1
            assert usage.cache_read_input_tokens and usage.cache_read_input_tokens >= 1024
        assert usage.input_tokens < 50  # the cached system prompt is not counted again
    assert writes and reads


def test_results_line_shapes_for_every_result_type(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    expired = emulator.add_batch(
        count=300,
        created_at=clock.now() - timedelta(hours=25),
        duration=30 * 3600,
        error_rate=0.1,
        invalid_rate=0.05,
    )
    kinds = {line.result.type for line in validated_results(client, expired)}
    assert kinds == {"succeeded", "errored", "expired"}


async def test_async_client_lifecycle_and_results(
    async_client: anthropic.AsyncAnthropic, async_emulator: Emulator, clock: ManualClock
) -> None:
    batch = await async_client.messages.batches.create(requests=[request(f"a{i}") for i in range(12)])
    clock.advance(600)
    ended = await async_client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.succeeded == 12
    lines = [
        MessageBatchIndividualResponse.model_validate(line.to_dict())
        async for line in await async_client.messages.batches.results(batch.id)
    ]
    assert sorted(line.custom_id for line in lines) == sorted(f"a{i}" for i in range(12))
    listed = [b.id async for b in async_client.messages.batches.list(limit=1)]
    assert listed == [batch.id]


@pytest.mark.parametrize(
    "path", ["/v1/messages/batches/msgbatch_nope", "/v1/messages/batches/msgbatch_nope/results"]
)
def test_unknown_batch_is_not_found(client: anthropic.Anthropic, path: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.get(path, cast_to=object)
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
