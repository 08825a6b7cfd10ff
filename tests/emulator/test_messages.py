"""`POST /v1/messages` as JSON and as a stream, count_tokens and models, through the real SDK."""

from __future__ import annotations

import time

import anthropic
import pytest
from bench.bench_emulator import stream_rate
from tests.emulator.conftest import sync_client

from batchboard.emulator import Emulator, EmulatorSettings, Fault
from batchboard.emulator.text import pieces

PROMPT = "Explain how tidal power stations generate electricity from estuary currents."


def ask(sdk: anthropic.Anthropic, **params: object) -> anthropic.types.Message:
    options: dict[str, object] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 400,
        "timeout": 30,  # an explicit timeout stops the SDK refusing large max_tokens without streaming
        "messages": [{"role": "user", "content": PROMPT}],
    }
    options.update(params)
    return sdk.messages.create(**options)  # type: ignore[call-overload,no-any-return]


def test_create_returns_a_standard_tier_message_about_the_prompt(client: anthropic.Anthropic) -> None:
    message = ask(client)
    assert message.id.startswith("msg_") and message.role == "assistant"
    assert message.stop_reason == "end_turn"
    text = message.content[0].text  # type: ignore[union-attr]
    assert any(word in text.lower() for word in ("tidal", "electricity", "estuary", "currents"))
    assert message.usage.service_tier == "standard"
    assert (
        message.usage.input_tokens
        == client.messages.count_tokens(
            model="claude-sonnet-5-5", messages=[{"role": "user", "content": PROMPT}]
        ).input_tokens
    )


def test_max_tokens_cuts_the_reply(client: anthropic.Anthropic) -> None:
    message = ask(client, max_tokens=7)
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"max_tokens": 200000, "model": "claude-haiku-5-5"},
            "max_tokens: 200000 > 64000, which is the maximum allowed number of output tokens "
            "for claude-haiku-5-5",
        ),
        ({"messages": []}, "messages: at least one message is required"),
        (
            {"messages": [{"role": "system", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        ({"messages": [{"role": "user", "content": ""}]}, "messages: text content blocks must be non-empty"),
        ({"extra_body": {"temperature": 0.5}}, "temperature: Extra inputs are not permitted"),
        (
            {"extra_body": {"temperature": -0.5}, "extra_headers": {"anthropic-version": "2023-06-01"}},
            "temperature: Input should be greater than or equal to 0",
        ),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"extra_body": {"surprise": 1}}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_params_are_a_bad_request(
    client: anthropic.Anthropic, params: dict[str, object], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(client, **params)
    assert caught.value.body["error"]["message"] == message  # type: ignore[index]


def test_prompt_cache_writes_then_reads(client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "House style guide. " * 400, "cache_control": {"type": "ephemeral"}}]
    first = ask(client, system=system).usage
    second = ask(client, system=system).usage
    assert first.cache_creation_input_tokens and first.cache_read_input_tokens == 0
    assert first.cache_creation is not None and first.cache_creation.ephemeral_5m_input_tokens > 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert first.input_tokens == second.input_tokens


def test_stream_accumulates_to_the_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-opus-5-5", max_tokens=300, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    text = final.content[0].text  # type: ignore[union-attr]
    assert text and final.stop_reason == "end_turn" and final.usage.output_tokens > 1
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events and events.index("content_block_stop") > events.index("text")
    with client.messages.stream(
        model="claude-opus-5-5", max_tokens=300, messages=[{"role": "user", "content": PROMPT}]
    ) as again:
        assert "".join(again.text_stream) == text  # same prompt, same answer
    assert (
        client.messages.create(
            model="claude-opus-5-5", max_tokens=300, messages=[{"role": "user", "content": PROMPT}]
        )
        .content[0]
        .text
        == text
    )  # type: ignore[union-attr]


def test_mid_stream_error_raises_api_status_error(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="stream_error", path="/v1/messages", after_events=3))
    assert ask(client).content  # a stream_error fault leaves non-streaming calls alone
    received = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model="claude-haiku-5-5", max_tokens=300, messages=[{"role": "user", "content": PROMPT}]
        ) as stream,
    ):
        for text in stream.text_stream:
            received.append(text)
    assert len(received) == 3
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_fault_before_a_stream_is_a_json_error(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="overloaded", method="POST", path="/v1/messages"))
    with pytest.raises(anthropic.OverloadedError):
        client.messages.stream(
            model="claude-haiku-5-5", max_tokens=30, messages=[{"role": "user", "content": "hi"}]
        ).__enter__()


async def test_async_stream(async_client: anthropic.AsyncAnthropic) -> None:
    async with async_client.messages.stream(
        model="claude-haiku-5-5", max_tokens=200, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        chunks = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(chunks) == final.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("rate", [200.0, 1000.0])
def test_stream_holds_the_configured_rate(rate: float) -> None:
    tokens = 150 if rate < 1000 else 600
    emu = Emulator(EmulatorSettings(demo=False, ttft=0.2, tokens_per_second=rate))
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        started = time.perf_counter()
        arrivals: list[tuple[float, int]] = []
        with sdk.messages.stream(
            model="claude-opus-5-5",
            max_tokens=tokens,
            messages=[{"role": "user", "content": "Write a long report on " + "harbour logistics " * 40}],
        ) as stream:
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    arrivals.append((time.perf_counter(), len(pieces(event.delta.text))))
            usage = stream.get_final_message().usage
    assert usage.output_tokens == tokens == sum(n for _, n in arrivals)
    assert arrivals[0][0] - started >= 0.2  # time to first token
    assert abs(stream_rate(arrivals) - rate) / rate < 0.05


def test_models_list_retrieve_and_lifecycle(client: anthropic.Anthropic) -> None:
    models = list(client.models.list(limit=5))
    ids = [model.id for model in models]
    assert {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-haiku-4-5-20251001"} <= set(
        ids
    )
    assert "claude-mythos-preview" not in ids  # retired models only on request
    assert all(model.capabilities is not None and model.capabilities.batch.supported for model in models)
    retired = client.models.list(lifecycle=["retired"])
    assert [model.id for model in retired.data] == ["claude-mythos-preview"]
    alias = client.models.retrieve("claude-haiku-4-5")
    assert alias.id == "claude-haiku-4-5-20251001" and alias.max_tokens == 64000
    newer = client.models.list(before_id=ids[6], limit=3)
    assert [model.id for model in newer.data] == ids[3:6]
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope")


def test_count_tokens_grows_with_the_prompt(client: anthropic.Anthropic) -> None:
    def count(text: str, **extra: object) -> int:
        return client.messages.count_tokens(
            model="claude-haiku-5-5",
            messages=[{"role": "user", "content": text}],
            **extra,  # type: ignore[arg-type]
        ).input_tokens

    assert count("a" * 4000) - count("a" * 400) == 900  # ~4 characters a token
    assert count("hello", system="x" * 400) == count("hello") + 100
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nope"):
        client.messages.count_tokens(model="claude-nope", messages=[{"role": "user", "content": "x"}])


def test_hostile_prompt_text_round_trips_as_data(client: anthropic.Anthropic, emulator: Emulator) -> None:
    from tests.conftest import HOSTILE

    batch = client.messages.batches.create(
        requests=[
            {
                "custom_id": "hostile",
                "params": {
                    "model": "claude-haiku-5-5",
                    "max_tokens": 50,
                    "messages": [{"role": "user", "content": HOSTILE}],
                },
            }
        ]
    )
    assert batch.request_counts.processing == 1
    response = client.messages.with_raw_response.create(
        model="claude-haiku-5-5", max_tokens=50, messages=[{"role": "user", "content": HOSTILE}]
    )
    assert response.headers["request-id"].startswith("req_")
    assert response.parse().content
