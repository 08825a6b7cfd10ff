"""Tools through the strict SDK: forced, `any`, `auto` and `none` tool choice, sync and streamed (the SDK
rebuilds the input from `input_json_delta`s), tool_result turns checked like the API, truncated calls."""

from __future__ import annotations

from typing import Any

import anthropic
import jsonschema
import pytest
from anthropic.types import ToolUseBlock
from tests.emulator.conftest import request, validated_results

from batchboard.core.clock import ManualClock

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "The forecast for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
            "hourly": {"type": "boolean"},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    },
}
TICKETS: dict[str, Any] = {
    "name": "file_ticket",
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 5, "maxLength": 80},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4},
            "priority": {"enum": ["low", "high"]},
        },
        "required": ["title", "tags", "priority"],
    },
}
ASK = "What weather will Lisbon have this weekend? Pack for the harbour walk."


def create(client: anthropic.Anthropic, **params: Any) -> anthropic.types.Message:
    options: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 600,
        "messages": [{"role": "user", "content": ASK}],
        "tools": [WEATHER, TICKETS],
    }
    options.update(params)
    return client.messages.create(**options)


def tool_use(message: anthropic.types.Message) -> ToolUseBlock:
    (block,) = [block for block in message.content if block.type == "tool_use"]
    assert isinstance(block, ToolUseBlock)
    return block


@pytest.mark.parametrize("tool", [WEATHER, TICKETS])
def test_a_forced_tool_is_called_with_a_valid_input(
    client: anthropic.Anthropic, tool: dict[str, Any]
) -> None:
    message = create(client, tool_choice={"type": "tool", "name": tool["name"]})
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["tool_use"]  # no text before a forced call
    block = tool_use(message)
    assert block.id.startswith("toolu_") and block.name == tool["name"]
    jsonschema.validate(block.input, tool["input_schema"])
    assert create(client, tool_choice={"type": "tool", "name": tool["name"]}).content == message.content


def test_any_calls_one_of_the_tools_the_prompt_points_to(client: anthropic.Anthropic) -> None:
    message = create(client, tool_choice={"type": "any", "disable_parallel_tool_use": True})
    assert message.stop_reason == "tool_use" and tool_use(message).name == "get_weather"
    jsonschema.validate(tool_use(message).input, WEATHER["input_schema"])


def test_the_sdk_rebuilds_a_streamed_tool_input(client: anthropic.Anthropic) -> None:
    forced = {"tool_choice": {"type": "tool", "name": "file_ticket"}}
    sync = create(client, **forced)
    with client.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=600,
        messages=[{"role": "user", "content": ASK}],
        tools=[WEATHER, TICKETS],
        **forced,  # type: ignore[arg-type]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [event.type for event in events]
    assert "input_json" in kinds and "text" not in kinds
    deltas = [e for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert len(deltas) > 1  # the input arrives in pieces
    starts = [e for e in events if e.type == "content_block_start"]
    assert starts[0].content_block.type == "tool_use" and starts[0].content_block.input == {}
    assert final.stop_reason == "tool_use" and final.content == sync.content


def test_auto_decides_deterministically_and_none_never_calls(client: anthropic.Anthropic) -> None:
    prompts = [f"Question {i}: what should the harbour team check about crane {i}?" for i in range(16)]
    auto = [create(client, messages=[{"role": "user", "content": p}]) for p in prompts]
    called = [m for m in auto if m.stop_reason == "tool_use"]
    assert 0 < len(called) < len(auto)  # some calls, some text answers
    for message in called:
        jsonschema.validate(
            tool_use(message).input,
            {t["name"]: t for t in (WEATHER, TICKETS)}[tool_use(message).name]["input_schema"],
        )
    again = [create(client, messages=[{"role": "user", "content": p}]) for p in prompts]
    assert [m.content for m in again] == [m.content for m in auto]
    for p in prompts[:6]:
        message = create(client, messages=[{"role": "user", "content": p}], tool_choice={"type": "none"})
        assert message.stop_reason == "end_turn" and all(b.type == "text" for b in message.content)


def test_a_tool_result_turn_gets_a_text_answer(client: anthropic.Anthropic) -> None:
    first = create(client, tool_choice={"type": "tool", "name": "get_weather"})
    call = tool_use(first)
    follow_up = [
        {"role": "user", "content": ASK},
        first.to_param(),
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "Rain on Saturday, 14 C."}
            ],
        },
    ]
    answer = create(client, messages=follow_up)
    assert answer.stop_reason == "end_turn" and answer.content[0].type == "text"
    forced_again = create(client, messages=follow_up, tool_choice={"type": "any"})
    assert forced_again.stop_reason == "tool_use"  # a forced choice still forces a call, as on the API


def test_tool_result_ids_are_checked_like_the_api(client: anthropic.Anthropic) -> None:
    first = create(client, tool_choice={"type": "tool", "name": "get_weather"})
    call = tool_use(first)
    wrong = [
        {"role": "user", "content": ASK},
        first.to_param(),
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nope", "content": "x"}]},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, messages=wrong)
    assert caught.value.body["error"]["message"] == (  # type: ignore[index]
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_nope. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    )
    unanswered = [
        {"role": "user", "content": ASK},
        first.to_param(),
        {"role": "user", "content": "And Sunday?"},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, messages=unanswered)
    assert caught.value.body["error"]["message"] == (  # type: ignore[index]
        f"messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: {call.id}. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )


def test_a_truncated_call_is_the_same_sync_and_streamed(client: anthropic.Anthropic) -> None:
    params: dict[str, Any] = {"tool_choice": {"type": "tool", "name": "file_ticket"}, "max_tokens": 9}
    sync = create(client, **params)
    assert sync.stop_reason == "max_tokens" and sync.usage.output_tokens == 9
    with client.messages.stream(
        model="claude-sonnet-5-5",
        messages=[{"role": "user", "content": ASK}],
        tools=[WEATHER, TICKETS],
        **params,
    ) as stream:
        final = stream.get_final_message()
    assert final.content == sync.content and final.stop_reason == "max_tokens"


def test_server_tools_and_parallel_flags_are_accepted(client: anthropic.Anthropic) -> None:
    message = create(
        client,
        tools=[{"type": "web_search_20250305", "name": "web_search"}, WEATHER],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
    )
    assert message.stop_reason in ("end_turn", "tool_use")
    only_server = create(client, tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert only_server.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"tool_choice": {"type": "tool", "name": "nope"}},
            "tool_choice.tool.name: no tool named 'nope' in tools",
        ),
        ({"tools": [WEATHER, WEATHER]}, "tools: Tool names must be unique."),
        (
            {"tools": [{**WEATHER, "strict": True}]},
            "tools.0.input_schema: For 'integer' type, property 'minimum' is not supported",
        ),
    ],
)
def test_bad_tool_params_are_refused(
    client: anthropic.Anthropic, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, **params)
    assert caught.value.body["error"]["message"] == message  # type: ignore[index]


def test_forced_tools_in_a_batch(client: anthropic.Anthropic, clock: ManualClock) -> None:
    batch = client.messages.batches.create(
        requests=[
            request(
                f"w{i}", f"{ASK} ({i})", tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}
            )
            for i in range(10)
        ]
    )
    clock.advance(601)
    for line in validated_results(client, batch.id):
        assert line.result.type == "succeeded" and line.result.message.stop_reason == "tool_use"
        jsonschema.validate(tool_use(line.result.message).input, WEATHER["input_schema"])
