"""Conformance: every reply meant to follow a schema validates with the `jsonschema` library and parses.

Schemas come from a seeded generator (tests/emulator/random_schemas.py): the structured-output subset
through batches, messages and streams, and the wider keyword set (lengths, bounds, item counts, oneOf...)
as tool input schemas and through the generator directly. The emulator's own validator must agree.
"""

from __future__ import annotations

import json
import random
from typing import Any

import anthropic
import jsonschema
import pytest
from tests.emulator.conftest import request, validated_results
from tests.emulator.random_schemas import SchemaMaker

from batchboard.core.clock import ManualClock
from batchboard.emulator.schema import break_value, check_structured, first_error, generate

WORDS = ("tide", "harbour", "kelp", "pier", "ferry")
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def output_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"format": {"type": "json_schema", "schema": schema}}


def test_generated_values_validate_for_300_schemas_and_5_salts_each() -> None:
    checked = 0
    for seed in range(300):
        schema = SchemaMaker(seed, strict=seed % 3 == 0).root()
        if seed < 20:  # the generated schemas are themselves valid (checking all 300 is slow)
            jsonschema.Draft202012Validator.check_schema(schema)
        check = validator(schema)
        for salt in range(5):
            value = generate(schema, seed * 7919 + salt, WORDS)
            errors = [error.message for error in check.iter_errors(value)]
            assert not errors, (seed, salt, errors, value)
            assert first_error(value, schema) is None
            assert json.loads(json.dumps(value)) == value
            checked += 1
    assert checked == 1500


def test_broken_variants_fail_both_validators() -> None:
    broken = 0
    for seed in range(150):
        schema = SchemaMaker(seed, strict=False).root()
        value = generate(schema, seed, WORDS)
        variant = break_value(value, schema, random.Random(seed))
        if variant is None:
            continue
        assert first_error(variant, schema) is not None
        assert not validator(schema).is_valid(variant), (seed, variant)
        broken += 1
    assert broken > 120


def test_250_structured_output_schemas_in_one_batch(client: anthropic.Anthropic, clock: ManualClock) -> None:
    schemas = {f"s{seed:03d}": SchemaMaker(1000 + seed, strict=True).root() for seed in range(250)}
    for schema in schemas.values():
        check_structured(schema)  # the subset the API accepts
    batch = client.messages.batches.create(
        requests=[
            request(
                cid, f"Describe the {cid} shipment.", max_tokens=8192, output_config=output_format(schema)
            )
            for cid, schema in schemas.items()
        ]
    )
    clock.advance(601)
    lines = validated_results(client, batch.id)
    assert len(lines) == 250
    for line in lines:
        assert line.result.type == "succeeded", line
        message = line.result.message
        assert message.stop_reason == "end_turn"
        text = message.content[0].text  # type: ignore[union-attr]
        errors = [e.message for e in validator(schemas[line.custom_id]).iter_errors(json.loads(text))]
        assert not errors, (line.custom_id, errors, text)


@pytest.mark.parametrize("stream", [False, True])
def test_structured_outputs_over_messages_and_streams(client: anthropic.Anthropic, stream: bool) -> None:
    for seed in range(12):
        schema = SchemaMaker(5000 + seed, strict=True).root()
        params: dict[str, Any] = {
            "model": "claude-haiku-5-5",
            "max_tokens": 8192,
            "messages": [{"role": "user", "content": f"Report {seed} on the ferry timetable."}],
            "output_config": output_format(schema),
        }
        if stream:
            with client.messages.stream(**params) as events:
                text = "".join(events.text_stream)
                assert events.get_final_message().stop_reason == "end_turn"
        else:
            text = client.messages.create(**params).content[0].text  # type: ignore[union-attr]
        validator(schema).validate(json.loads(text))


def test_wide_schemas_as_forced_tool_inputs(client: anthropic.Anthropic) -> None:
    for seed in range(40):
        schema = SchemaMaker(9000 + seed, strict=False).root()
        message = client.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=8192,
            messages=[{"role": "user", "content": f"File report {seed}."}],
            tools=[{"name": "file_report", "input_schema": schema}],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "file_report"},
        )
        assert message.stop_reason == "tool_use"
        block = message.content[0]
        assert block.type == "tool_use"
        validator(schema).validate(block.input)


@pytest.mark.parametrize(
    ("value", "schema", "said"),
    [
        ("", {"type": "string", "minLength": 1}, "$: shorter than 1 character"),
        ("a", {"type": "string", "minLength": 2}, "$: shorter than 2 characters"),
        ("ab", {"type": "string", "maxLength": 1}, "$: longer than 1 character"),
        ("abc", {"type": "string", "maxLength": 2}, "$: longer than 2 characters"),
        ([], {"type": "array", "minItems": 1}, "$: fewer than 1 item"),
        ([1], {"type": "array", "minItems": 2}, "$: fewer than 2 items"),
        ([1, 2], {"type": "array", "maxItems": 1}, "$: more than 1 item"),
        ([1, 2, 3], {"type": "array", "maxItems": 2}, "$: more than 2 items"),
        ({}, {"type": "object", "minProperties": 1}, "$: fewer than 1 property"),
        ({"a": 1}, {"type": "object", "minProperties": 2}, "$: fewer than 2 properties"),
        ({"a": 1, "b": 2}, {"type": "object", "maxProperties": 1}, "$: more than 1 property"),
        ({"a": 1, "b": 2, "c": 3}, {"type": "object", "maxProperties": 2}, "$: more than 2 properties"),
    ],
)
def test_size_violations_count_in_the_singular_for_one(
    value: object, schema: dict[str, Any], said: str
) -> None:
    assert first_error(value, schema) == said
