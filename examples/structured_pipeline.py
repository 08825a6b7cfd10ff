"""Structured outputs end to end with the official SDK: a batch of support tickets, each answered as a
`Triage` object, parsed into the pydantic model once the batch has ended. Works unchanged on the API and on
`batchboard emulator`:

    batchboard emulator --port 4010 --batch-duration 5 &
    export ANTHROPIC_BASE_URL=http://127.0.0.1:4010 ANTHROPIC_API_KEY=sk-ant-emulator
    python examples/structured_pipeline.py

Every request that does not give a usable `Triage` is reported with the reason: an errored request, an answer
cut short or refused (its `stop_reason`), or one that does not validate.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Literal

import anthropic
from anthropic import transform_schema
from pydantic import BaseModel, ValidationError


class Triage(BaseModel):
    category: Literal["billing", "bug report", "feature request", "account access", "shipping", "other"]
    urgency: Literal["low", "normal", "high"]
    summary: str
    needs_reply: bool


TICKETS = (
    "I was charged twice for my March invoice and need one charge refunded.",
    "The mobile app crashes as soon as it opens since the last update.",
    "Could you add a dark mode to the usage dashboard?",
    "The password reset email never arrives, so I cannot log in.",
    "My order to Canada has not moved for two weeks.",
    "The CSV export is missing half the rows for last week.",
    "Two-factor login keeps asking for a code it never sends.",
    "Please let me invite my whole team with one link.",
)


@dataclass
class Report:
    batch_id: str
    parsed: dict[str, Triage] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def build_requests(tickets: tuple[str, ...], model: str, max_tokens: int) -> list[dict[str, object]]:
    output_config = {"format": {"type": "json_schema", "schema": transform_schema(Triage)}}
    return [
        {
            "custom_id": f"ticket-{number:03d}",
            "params": {
                "model": model,
                "max_tokens": max_tokens,
                "system": "You triage support tickets.",
                "messages": [{"role": "user", "content": f"Triage this support ticket: {ticket}"}],
                "output_config": output_config,
            },
        }
        for number, ticket in enumerate(tickets)
    ]


def run(
    client: anthropic.Anthropic,
    *,
    model: str = "claude-haiku-5-5",
    max_tokens: int = 1024,
    poll_interval: float = 5.0,
    tickets: tuple[str, ...] = TICKETS,
) -> Report:
    batch = client.messages.batches.create(requests=build_requests(tickets, model, max_tokens))  # type: ignore[arg-type]
    while batch.processing_status != "ended":
        time.sleep(poll_interval)
        batch = client.messages.batches.retrieve(batch.id)
    report = Report(batch.id)
    for line in client.messages.batches.results(batch.id):
        result = line.result
        if result.type != "succeeded":
            detail = f": {result.error.error.type}" if result.type == "errored" else ""
            report.problems[line.custom_id] = f"{result.type}{detail}"
            continue
        message = result.message
        if message.stop_reason != "end_turn":
            report.problems[line.custom_id] = f"unusable: stop_reason {message.stop_reason}"
            continue
        text = "".join(block.text for block in message.content if block.type == "text")
        try:
            report.parsed[line.custom_id] = Triage.model_validate_json(text)
        except ValidationError as exc:
            report.problems[line.custom_id] = f"invalid output: {exc.errors()[0]['msg']}"
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="claude-haiku-5-5")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--poll-interval", type=float, default=5.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    with anthropic.Anthropic() as client:  # ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY from the environment
        report = run(client, model=args.model, max_tokens=args.max_tokens, poll_interval=args.poll_interval)
    print(f"batch {report.batch_id}: {len(report.parsed)} parsed, {len(report.problems)} unusable")
    for custom_id, triage in sorted(report.parsed.items()):
        print(f"  {custom_id}  {triage.category:<16} {triage.urgency:<6} {triage.summary}")
    for custom_id, problem in sorted(report.problems.items()):
        print(f"  {custom_id}  {problem}")
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
