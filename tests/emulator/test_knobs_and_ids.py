"""The refusal and invalid-output knobs (and the refusal test string), seen through the strict SDK, and ids
that a restarted emulator never reissues."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import jsonschema
import pytest
from anthropic.types import RefusalStopDetails
from tests.emulator.conftest import request, sync_client, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.emulator.conversation import REFUSAL_TEST_STRING

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "rain": {"type": "boolean"}},
    "required": ["city", "days", "rain"],
    "additionalProperties": False,
}
FORMAT = {"format": {"type": "json_schema", "schema": SCHEMA}}
TOOL = {"name": "forecast", "input_schema": SCHEMA}
ASK = [{"role": "user", "content": "What is the forecast for the harbour festival in Porto?"}]


@pytest.fixture
def knobbed(
    clock: ManualClock, request: pytest.FixtureRequest
) -> Iterator[tuple[Emulator, anthropic.Anthropic]]:
    refusal, invalid = request.param
    settings = EmulatorSettings(
        seed=3,
        demo=False,
        batch_duration=600.0,
        ttft=0.0,
        tokens_per_second=0.0,
        refusal_rate=refusal,
        invalid_output_rate=invalid,
    )
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        yield emu, sdk


def broken(text: str, schema: dict[str, Any]) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return True
    return not jsonschema.Draft202012Validator(schema).is_valid(value)


@pytest.mark.parametrize("knobbed", [(1.0, 0.0)], indirect=True)
def test_the_refusal_knob(knobbed: tuple[Emulator, anthropic.Anthropic], clock: ManualClock) -> None:
    _emu, sdk = knobbed
    message = sdk.messages.create(model="claude-haiku-5-5", max_tokens=300, messages=ASK)  # type: ignore[arg-type]
    assert message.stop_reason == "refusal"
    assert message.stop_details == RefusalStopDetails(type="refusal", category=None, explanation=None)
    assert message.content and 0 < message.usage.output_tokens <= 12  # the first words, billed
    with sdk.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=ASK) as stream:  # type: ignore[arg-type]
        events = list(stream)
        final = stream.get_final_message()
    (delta,) = [event for event in events if event.type == "message_delta"]
    assert delta.delta.stop_reason == "refusal" and delta.delta.stop_details is not None
    assert [b.to_dict() for b in final.content] == [b.to_dict() for b in message.content]
    assert final.stop_details == message.stop_details
    batch = sdk.messages.batches.create(requests=[request(f"r{i}") for i in range(5)])
    clock.advance(601)
    lines = validated_results(sdk, batch.id)
    assert {line.result.type for line in lines} == {"succeeded"}  # a refusal is a succeeded request
    assert {line.result.message.stop_reason for line in lines} == {"refusal"}  # type: ignore[union-attr]


def test_the_refusal_test_string_refuses_at_a_zero_rate(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": f"Please answer: {REFUSAL_TEST_STRING}"}]
    message = client.messages.create(model="claude-opus-5-5", max_tokens=200, messages=messages)  # type: ignore[arg-type]
    assert message.stop_reason == "refusal" and message.stop_details is not None
    assert (
        client.messages.create(model="claude-opus-5-5", max_tokens=1000, messages=ASK).stop_reason
        == "end_turn"
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("knobbed", [(0.0, 1.0)], indirect=True)
def test_the_invalid_output_knob_breaks_schemas_and_forced_tools(
    knobbed: tuple[Emulator, anthropic.Anthropic], clock: ManualClock
) -> None:
    _emu, sdk = knobbed
    for i in range(8):
        messages = [{"role": "user", "content": f"Forecast {i} for the Porto harbour festival."}]
        text = (
            sdk.messages.create(
                model="claude-haiku-5-5",
                max_tokens=500,
                messages=messages,
                output_config=FORMAT,  # type: ignore[arg-type]
            )
            .content[0]
            .text
        )  # type: ignore[union-attr]
        assert broken(text, SCHEMA), text
        call = sdk.messages.create(
            model="claude-haiku-5-5",
            max_tokens=500,
            messages=messages,  # type: ignore[arg-type]
            tools=[TOOL],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "forecast"},
        )
        block = call.content[0]
        assert block.type == "tool_use" and isinstance(block.input, dict)  # still an object on the wire
        assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(block.input)
    plain = sdk.messages.create(model="claude-haiku-5-5", max_tokens=300, messages=ASK)  # type: ignore[arg-type]
    assert plain.stop_reason == "end_turn"  # nothing to break without a schema
    batch = sdk.messages.batches.create(requests=[request(f"s{i}", output_config=FORMAT) for i in range(6)])
    clock.advance(601)
    for line in validated_results(sdk, batch.id):
        assert line.result.type == "succeeded"
        assert broken(line.result.message.content[0].text, SCHEMA)  # type: ignore[union-attr]


def test_knobs_are_off_by_default_and_shown_in_state(emulator: Emulator, client: anthropic.Anthropic) -> None:
    settings = httpx2.get(f"{emulator.base_url}/_emulator/state", timeout=10).json()["settings"]
    assert settings["refusal_rate"] == 0.0 and settings["invalid_output_rate"] == 0.0
    for i in range(10):
        messages = [{"role": "user", "content": f"Forecast {i} for the Porto harbour festival."}]
        message = client.messages.create(
            model="claude-haiku-5-5",
            max_tokens=500,
            messages=messages,
            output_config=FORMAT,  # type: ignore[arg-type]
        )
        assert message.stop_reason == "end_turn" and not broken(message.content[0].text, SCHEMA)  # type: ignore[union-attr]


def test_knob_values_are_checked() -> None:
    with pytest.raises(ValueError, match="refusal_rate"):
        EmulatorSettings(refusal_rate=1.5)
    with pytest.raises(ValueError, match="invalid_output_rate"):
        EmulatorSettings(invalid_output_rate=-0.1)


def created_ids(clock: ManualClock | None, demo: bool = False) -> list[str]:
    emu = Emulator(EmulatorSettings(seed=5, demo=demo, batch_duration=60.0), clock=clock)
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        made = [sdk.messages.batches.create(requests=[request("a")]).id for _ in range(3)]
        return made + [batch.id for batch in sdk.messages.batches.list(limit=100) if batch.id not in made]


def test_a_restarted_emulator_never_reissues_a_batch_id() -> None:
    first = created_ids(None, demo=True)  # the system clock, as `batchboard emulator` runs
    second = created_ids(None, demo=True)
    assert len(first) == len(second) > 12
    assert not set(first) & set(second)


def test_ids_are_reproducible_for_one_seed_and_start_instant() -> None:
    assert created_ids(ManualClock()) == created_ids(ManualClock())
    later = ManualClock()
    later.advance(seconds=1)
    assert not set(created_ids(ManualClock())) & set(created_ids(later))


def test_only_synthesized_batches_hand_out_their_requests(
    emulator: Emulator, client: anthropic.Anthropic
) -> None:
    made = client.messages.batches.create(requests=[request("a")]).id
    response = httpx2.get(f"{emulator.base_url}/_emulator/batches/{made}/requests", timeout=10)
    assert response.status_code == 404 and "keeps no copy" in response.json()["error"]["message"]
    synthesized = emulator.add_batch(count=3, custom_id_prefix="doc")
    lines = httpx2.get(f"{emulator.base_url}/_emulator/batches/{synthesized}/requests", timeout=10).text
    assert [json.loads(line)["custom_id"] for line in lines.splitlines()] == [
        "doc-00000",
        "doc-00001",
        "doc-00002",
    ]
