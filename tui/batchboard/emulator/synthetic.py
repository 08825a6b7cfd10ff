"""Synthesized batches (the demo world, `Emulator.add_batch`): requests generated on demand from their index,
so 10,000 batches of 1,000 requests cost next to nothing, with realistic bulk-work prompts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from batchboard.emulator._util import stable_hash, unit_hash
from batchboard.emulator.store import (
    API_ERROR,
    INVALID,
    INVALID_OUTPUT,
    OVERLOADED,
    REFUSED,
    SUCCEEDED,
    Request,
)
from batchboard.emulator.validation import Prompt

# Synthesized requests: the completion order is an affine permutation of the index and the fate a periodic
# pattern over that order, so counts at any cutoff are O(1) even for 10,000 batches of 1,000 requests.
_PERIOD = 1000
_STRIDE = 619  # coprime with _PERIOD: the fate pattern visits every residue once per period


@lru_cache(maxsize=64)
def _fate_prefix(invalid_per_period: int, failing_per_period: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Prefix sums of (succeeded, errored) over one period of completion ranks."""
    ok, bad = [0], [0]
    for rank in range(_PERIOD):
        code = (rank * _STRIDE) % _PERIOD
        failed = code < invalid_per_period + failing_per_period
        ok.append(ok[-1] + (not failed))
        bad.append(bad[-1] + failed)
    return tuple(ok), tuple(bad)


_SUBJECTS = (
    "my latest invoice",
    "the mobile app",
    "the password reset email",
    "the March statement",
    "the CSV export",
    "two-factor login",
    "my refund",
    "the shipping label",
    "the usage dashboard",
    "the team invitation link",
    "the annual plan upgrade",
    "the webhook deliveries",
)
_PROBLEMS = (
    "was charged twice",
    "crashes as soon as it opens",
    "never arrives",
    "shows the wrong currency",
    "times out after a minute",
    "is missing half the rows",
    "keeps asking for a code",
    "has not been processed",
    "prints with the wrong address",
    "shows zero for last week",
)
_CONTEXTS = (
    "since the last update",
    "on Android 15",
    "for everyone on our team",
    "after I switched plans",
    "only in Safari",
    "for orders shipped to Canada",
    "every Monday morning",
)
_TOPICS = (
    "Grid-scale battery storage in rural Spain",
    "Coastal erosion along the Norfolk shoreline",
    "Remote work and the future of city centres",
    "Antibiotic resistance in livestock farming",
    "The revival of night trains across Europe",
    "Heat pumps in older terraced houses",
    "Microplastics found in Alpine snow",
    "Open banking adoption among small businesses",
)
_VENDORS = ("Northwind Traders", "Acme Logistics", "Globex Supplies", "Initech Services", "Umbrella Foods")

SYSTEM_PROMPTS = {
    "classify": "You are a support-ticket triage assistant. Classify each ticket into exactly one category: "
    "billing, bug report, feature request, account access, shipping, other. Give a confidence and a reason.",
    "summarize": "You are an editor. Summarise articles in three short bullet points for a news digest.",
    "extract": "You extract structured fields from invoice text and answer with JSON only.",
    "sentiment": "You label product reviews by sentiment: positive, negative, mixed or neutral.",
}


def synthetic_prompt(kind: str, index: int, salt: int) -> str:
    """A realistic bulk-work prompt for request `index` of a synthesized batch."""
    h = stable_hash(salt, index)
    subject = _SUBJECTS[h % len(_SUBJECTS)]
    problem = _PROBLEMS[(h >> 8) % len(_PROBLEMS)]
    context = _CONTEXTS[(h >> 16) % len(_CONTEXTS)]
    if kind == "summarize":
        topic = _TOPICS[h % len(_TOPICS)]
        return (
            f"Summarise the following article in three bullet points:\n\n{topic}. Reporters found that "
            f"{subject} {problem} {context}, prompting councils to review funding and planning rules."
        )
    if kind == "extract":
        vendor = _VENDORS[h % len(_VENDORS)]
        return (
            f"Extract vendor, invoice number, total and due date as JSON from this invoice: Invoice "
            f"INV-{10000 + index} from {vendor}. Consulting services, logistics surcharge. Total due "
            f"{100 + h % 9000}.{h % 100:02d} EUR by 2026-{1 + (h >> 8) % 12:02d}-{1 + (h >> 16) % 28:02d}."
        )
    if kind == "sentiment":
        return (
            f"Classify the sentiment of this review: Ordered the blender for {subject}; "
            f"it {problem} {context}."
        )
    return f"Classify this support ticket: Hi, {subject} {problem} {context}. Ticket #{40000 + index}."


@dataclass(frozen=True, slots=True)
class Workload:
    """What a synthesized batch's requests look like."""

    model: str
    kind: str = "classify"
    max_tokens: int = 1024
    cache_ttl: str | None = None  # the shared system prompt is cached with this ttl
    system_tokens: int = 0
    invalid_rate: float = 0.0
    error_rate: float = 0.0
    schema: dict[str, Any] | None = None
    schema_share: float = 0.0
    """Share of requests asking for `schema` as their `output_config.format`."""
    short_share: float = 0.0
    """Share of requests with `short_max_tokens`, too few for their answer (cut at max_tokens)."""
    short_max_tokens: int = 16
    refusal_rate: float = 0.0
    invalid_output_rate: float = 0.0
    """Share of the schema requests whose output breaks the schema (the invalid-output knob)."""


class SyntheticRequests:
    """`count` requests generated on demand from their index: nothing per request is stored."""

    def __init__(self, count: int, prefix: str, workload: Workload, seed: int, salt: str) -> None:
        self._count = count
        self._prefix = prefix
        self._workload = workload
        self._seed = seed
        self._salt = stable_hash(seed, salt)
        self._width = max(5, len(str(count - 1)))
        multiplier = 1 + self._salt % max(count - 1, 1)
        while math.gcd(multiplier, count) != 1:
            multiplier += 1
        self._multiplier = multiplier
        self._offset = (self._salt >> 20) % count
        self._invalid = round(workload.invalid_rate * _PERIOD)
        self._failing = round(workload.error_rate * _PERIOD)
        encoded = orjson.dumps(workload.schema, option=orjson.OPT_SORT_KEYS) if workload.schema else b""
        self._schema_tokens = math.ceil(len(encoded) / 4)  # the format instructions count as prompt

    def __len__(self) -> int:
        return self._count

    def _rank(self, index: int) -> int:
        return (self._multiplier * index + self._offset) % self._count

    def completed(self, cutoff: float) -> tuple[int, int]:
        # The ranks r with (r + 1) / count <= cutoff, computed with the very float comparison result_lines
        # applies to each request's point, so counts and results agree even at a boundary.
        count = self._count
        done = min(count, max(0, math.floor(cutoff * count)))
        while done > 0 and done / count > cutoff:
            done -= 1
        while done < count and (done + 1) / count <= cutoff:
            done += 1
        ok, bad = _fate_prefix(self._invalid, self._failing)
        full, rest = divmod(done, _PERIOD)
        return full * ok[-1] + ok[rest], full * bad[-1] + bad[rest]

    def __iter__(self) -> Iterator[Request]:
        for index in range(self._count):
            yield self.request(index)

    def request(self, index: int) -> Request:
        workload = self._workload
        custom_id = f"{self._prefix}-{index:0{self._width}d}"
        rank = self._rank(index)
        code = (rank * _STRIDE) % _PERIOD
        text = synthetic_prompt(workload.kind, index, self._salt)
        if code < self._invalid:
            fate = INVALID
            error = (
                f"max_tokens: {workload.max_tokens * 64} > 64000, which is the maximum allowed number of "
                f"output tokens for {workload.model}"
                if code % 2
                else "messages: text content blocks must be non-empty"
            )
            return Request(custom_id, fate, (rank + 1) / self._count, None, error)
        fate = SUCCEEDED
        if code < self._invalid + self._failing:
            fate = OVERLOADED if code % 3 else API_ERROR
        kind = "classify" if workload.kind == "sentiment" else workload.kind
        schema, max_tokens, twist = self._shape(index)
        prompt = Prompt(
            model=workload.model,
            max_tokens=max_tokens,
            snippet=text[:240],
            kind=kind,
            input_tokens=workload.system_tokens
            + math.ceil(len(text) / 4)
            + 3
            + (self._schema_tokens if schema is not None else 0),
            output_schema=schema,
            plain=schema is None,
        )
        if workload.cache_ttl is not None and workload.system_tokens >= 1024:
            if workload.cache_ttl == "1h":
                prompt.cache_1h = workload.system_tokens
            else:
                prompt.cache_5m = workload.system_tokens
        return Request(custom_id, fate, (rank + 1) / self._count, prompt, twist=twist)

    def _shape(self, index: int) -> tuple[dict[str, Any] | None, int, int]:
        """(output schema, max_tokens, twist) of request `index`, drawn from the batch's salt."""
        workload = self._workload
        if not (workload.schema_share or workload.short_share or workload.refusal_rate):
            return None, workload.max_tokens, 0
        schema = workload.schema if unit_hash(self._salt, index, "schema") < workload.schema_share else None
        short = unit_hash(self._salt, index, "short") < workload.short_share
        twist = REFUSED if unit_hash(self._salt, index, "refuse") < workload.refusal_rate else 0
        if schema is not None and unit_hash(self._salt, index, "invalid") < workload.invalid_output_rate:
            twist |= INVALID_OUTPUT
        return schema, workload.short_max_tokens if short else workload.max_tokens, twist

    def params(self, index: int) -> dict[str, Any]:
        """Request `index` as a client would have sent it (for attaching a demo batch's requests)."""
        workload = self._workload
        request = self.request(index)
        text = synthetic_prompt(workload.kind, index, self._salt)
        params: dict[str, Any] = {
            "model": workload.model,
            "max_tokens": request.prompt.max_tokens if request.prompt else workload.max_tokens * 64,
            "messages": [{"role": "user", "content": text}],
        }
        if workload.system_tokens:
            base = SYSTEM_PROMPTS.get(workload.kind, SYSTEM_PROMPTS["classify"])
            system: dict[str, Any] = {
                "type": "text",
                "text": (base + " ") * (workload.system_tokens * 4 // len(base)),
            }
            if workload.cache_ttl is not None:
                system["cache_control"] = {"type": "ephemeral", "ttl": workload.cache_ttl}
            params["system"] = [system]
        if request.prompt is not None and request.prompt.output_schema is not None:
            params["output_config"] = {
                "format": {"type": "json_schema", "schema": request.prompt.output_schema}
            }
        return {"custom_id": request.custom_id, "params": params}
