"""Structured outputs and stop sequences through the strict SDK: `messages.parse(output_format=Model)`,
schemas in batch results and streams, truncation, the schema subset the API refuses, and stop sequences."""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

import anthropic
import jsonschema
import pytest
from anthropic import transform_schema
from pydantic import BaseModel
from tests.emulator.conftest import request, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator

PROMPT = "Extract the invoice: Northwind Traders billed 1,240.50 EUR for harbour logistics, due 2026-12-01."


class Line(BaseModel):
    description: str
    amount: float


class Invoice(BaseModel):
    vendor: str
    currency: Literal["EUR", "USD", "GBP"]
    total: float
    lines: list[Line]
    due: date | None = None
    paid: bool


def schema_params(**extra: object) -> dict[str, object]:
    return {
        "output_config": {"format": {"type": "json_schema", "schema": transform_schema(Invoice)}},
        **extra,
    }


def test_parse_gives_a_pydantic_model_deterministically(client: anthropic.Anthropic) -> None:
    def parse() -> anthropic.types.ParsedMessage[Invoice]:
        return client.messages.parse(
            model="claude-sonnet-5-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": PROMPT}],
            output_format=Invoice,
        )

    first = parse()
    assert first.stop_reason == "end_turn"
    invoice = first.parsed_output
    assert isinstance(invoice, Invoice) and invoice.currency in ("EUR", "USD", "GBP")
    assert first.usage.output_tokens > 5
    assert parse().parsed_output == invoice  # same request, same JSON


def test_the_schema_counts_as_prompt(client: anthropic.Anthropic) -> None:
    plain = client.messages.count_tokens(
        model="claude-haiku-5-5", messages=[{"role": "user", "content": PROMPT}]
    )
    with_schema = client.messages.count_tokens(
        model="claude-haiku-5-5", messages=[{"role": "user", "content": PROMPT}], output_format=Invoice
    )
    assert with_schema.input_tokens > plain.input_tokens


def test_batch_results_parse_into_the_model(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    batch = client.messages.batches.create(
        requests=[
            request(f"inv-{i}", f"{PROMPT} Ticket {i}.", max_tokens=2048, **schema_params())
            for i in range(30)
        ]
    )
    clock.advance(601)
    lines = validated_results(client, batch.id)
    assert len(lines) == 30
    invoices = []
    for line in lines:
        assert line.result.type == "succeeded"
        message = line.result.message
        assert message.stop_reason == "end_turn" and message.usage.service_tier == "batch"
        invoices.append(Invoice.model_validate_json(message.content[0].text))  # type: ignore[union-attr]
    assert len({invoice.model_dump_json() for invoice in invoices}) > 20  # varied, not one canned answer


def test_a_streamed_structured_reply_parses(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-haiku-5-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": PROMPT}],
        output_format=Invoice,
    ) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert isinstance(final.parsed_output, Invoice)
    assert Invoice.model_validate_json(streamed) == final.parsed_output


def test_max_tokens_cuts_the_json_as_the_api_does(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=6,
        messages=[{"role": "user", "content": PROMPT}],
        **schema_params(),
    )
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 6
    with pytest.raises(json.JSONDecodeError):
        json.loads(message.content[0].text)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 3}},
                "additionalProperties": False,
            },
            "output_config.format.schema: For 'string' type, property 'minLength' is not supported",
        ),
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 1}},
                "additionalProperties": False,
            },
            "output_config.format.schema: For 'integer' type, property 'minimum' is not supported",
        ),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 3},
            "output_config.format.schema: "
            "For 'array' type, 'minItems' values other than 0 or 1 are not supported",
        ),
        (
            {
                "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
                "$ref": "#/$defs/Node",
            },
            "output_config.format.schema: Too many recursive definitions in schema",
        ),
    ],
)
def test_schemas_outside_the_supported_subset_are_refused(
    client: anthropic.Anthropic, schema: dict[str, object], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="claude-haiku-5-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "x"}],
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
    assert caught.value.body["error"]["message"] == message  # type: ignore[index]


def test_a_refused_schema_in_a_batch_is_an_errored_result(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    bad = {"format": {"type": "json_schema", "schema": {"type": "string", "maxLength": 5}}}
    batch = client.messages.batches.create(requests=[request("bad", output_config=bad), request("ok")])
    clock.advance(601)
    results = {line.custom_id: line.result for line in validated_results(client, batch.id)}
    assert results["ok"].type == "succeeded"
    bad_result = results["bad"]
    assert bad_result.type == "errored" and bad_result.error.error.type == "invalid_request_error"
    assert bad_result.error.error.message == (
        "output_config.format.schema: For 'string' type, property 'maxLength' is not supported"
    )


def test_a_prompt_asking_for_json_gets_json_that_parses(client: anthropic.Anthropic) -> None:
    for prompt in (
        "Classify this ticket and answer in JSON: the CSV export is missing rows.",
        "Summarise as JSON: harbour cranes were idle for a week after the storm.",
        "Extract the vendor and total from: Acme Logistics, 310.00 EUR. Answer with JSON only.",
    ):
        for max_tokens in (400, 2000):
            message = client.messages.create(
                model="claude-opus-5-5", max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}]
            )
            assert message.stop_reason == "end_turn"
            assert isinstance(json.loads(message.content[0].text), dict)  # type: ignore[union-attr]


STOP = "\nConfidence"  # every classification reply has one


def test_stop_sequences_cut_sync_streamed_and_batched(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    ticket = "Classify this ticket: the CSV export is missing rows."
    params = {
        "model": "claude-haiku-5-5",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": ticket}],
    }
    whole = client.messages.create(**params).content[0].text  # type: ignore[arg-type,union-attr]
    assert STOP in whole
    cut = client.messages.create(**params, stop_sequences=["never-said", STOP])  # type: ignore[arg-type]
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == STOP
    assert cut.content[0].text == whole[: whole.index(STOP)]  # type: ignore[union-attr]
    assert cut.usage.output_tokens < client.messages.create(**params).usage.output_tokens  # type: ignore[arg-type]
    with client.messages.stream(**params, stop_sequences=[STOP]) as stream:  # type: ignore[arg-type]
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == cut.content[0].text and STOP not in streamed  # type: ignore[union-attr]
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == STOP
    batch = client.messages.batches.create(
        requests=[request(f"t{i}", f"{ticket} #{i}", stop_sequences=[STOP]) for i in range(5)]
    )
    clock.advance(601)
    for line in validated_results(client, batch.id):
        assert line.result.type == "succeeded"
        message = line.result.message
        assert message.stop_reason == "stop_sequence" and message.stop_sequence == STOP
        assert message.content[0].text.startswith("Category: ") and STOP not in message.content[0].text  # type: ignore[union-attr]


def test_a_stop_sequence_inside_json_breaks_it_honestly(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=500,
        messages=[{"role": "user", "content": PROMPT}],
        stop_sequences=['"total"'],
        **schema_params(),
    )
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == '"total"'
    text = message.content[0].text  # type: ignore[union-attr]
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert '"total"' not in text


def test_unused_stop_sequences_change_nothing(client: anthropic.Anthropic) -> None:
    params = {
        "model": "claude-haiku-5-5",
        "max_tokens": 400,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    plain = client.messages.create(**params, **schema_params())  # type: ignore[arg-type]
    with_stops = client.messages.create(**params, stop_sequences=["ZZZ-never"], **schema_params())  # type: ignore[arg-type]
    assert with_stops.content == plain.content and with_stops.stop_reason == "end_turn"
    jsonschema.validate(json.loads(plain.content[0].text), transform_schema(Invoice))  # type: ignore[union-attr]
