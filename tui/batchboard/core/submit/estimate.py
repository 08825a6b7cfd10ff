"""What a submission will cost, before it is sent: tokens in, tokens out, dollars at batch and standard price.

Input tokens come from the API's count_tokens (for a sample, scaled by characters, or for every request
with bounded concurrency) or, offline, from about four characters a token. Output is only bounded: at
least one token a request, at most its max_tokens. Prompt caching gives a range too: requests in one batch
may not see each other's cache writes, so the low end has one write and then reads, the high end a write
for every request that asks for caching. Prices come from `pricing.price_for` (batch = 50%).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from batchboard.core.config import Settings
from batchboard.core.format import plural
from batchboard.core.gateway.errors import ApiError
from batchboard.core.gateway.tokens import count_input_tokens
from batchboard.core.pricing import ModelPrice, TokenCounts, price_for
from batchboard.core.submit.jsonl import CHARS_PER_TOKEN, ModelTally
from batchboard.core.submit.rules import text_chars

if TYPE_CHECKING:
    from batchboard.core.gateway.client import AsyncAnthropic

Mode = Literal["local", "sample", "all"]


@dataclass(frozen=True, slots=True)
class CostRange:
    low: float
    high: float

    def __add__(self, other: CostRange) -> CostRange:
        return CostRange(self.low + other.low, self.high + other.high)


@dataclass(frozen=True, slots=True)
class ModelEstimate:
    model: str
    requests: int
    input_tokens: int
    output_min: int
    output_max: int
    cached_requests: int
    cached_prefix_tokens: int
    batch: CostRange | None
    """None when the model has no known price."""
    standard: CostRange | None


@dataclass(frozen=True)
class Estimate:
    models: tuple[ModelEstimate, ...]
    method: str
    """How input tokens were found, in words (shown with the figures)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.models)

    @property
    def input_tokens(self) -> int:
        return sum(m.input_tokens for m in self.models)

    @property
    def output_range(self) -> tuple[int, int]:
        return sum(m.output_min for m in self.models), sum(m.output_max for m in self.models)

    @property
    def unpriced_models(self) -> list[str]:
        return [m.model for m in self.models if m.batch is None]

    def total(self, which: Literal["batch", "standard"]) -> CostRange:
        """Sum over models with a known price (see `unpriced_models` for the rest)."""
        total = CostRange(0.0, 0.0)
        for model in self.models:
            part = model.batch if which == "batch" else model.standard
            if part is not None:
                total = total + part
        return total

    def as_dict(self) -> dict[str, Any]:
        batch, standard = self.total("batch"), self.total("standard")
        return {
            "method": self.method,
            "notes": list(self.notes),
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": {"min": self.output_range[0], "max": self.output_range[1]},
            "cost_batch_usd": {"low": round(batch.low, 6), "high": round(batch.high, 6)},
            "cost_standard_usd": {"low": round(standard.low, 6), "high": round(standard.high, 6)},
            "unpriced_models": self.unpriced_models,
            "models": [
                {
                    "model": m.model,
                    "requests": m.requests,
                    "input_tokens": m.input_tokens,
                    "output_tokens": {"min": m.output_min, "max": m.output_max},
                    "cached_requests": m.cached_requests,
                    "cached_prefix_tokens": m.cached_prefix_tokens,
                    "cost_batch_usd": None if m.batch is None else {"low": m.batch.low, "high": m.batch.high},
                    "cost_standard_usd": None
                    if m.standard is None
                    else {"low": m.standard.low, "high": m.standard.high},
                }
                for m in self.models
            ],
        }


def cost_range(
    price: ModelPrice,
    requests: int,
    input_tokens: int,
    prefix_tokens: int,
    cached: int,
    out: tuple[int, int],
    prefix_1h_tokens: int = 0,
    cached_1h: int = 0,
) -> CostRange:
    """Cost of `requests` requests totalling `input_tokens` (of which `prefix_tokens` in cached prefixes of
    `cached` requests, and of those `prefix_1h_tokens` of `cached_1h` requests with the one-hour TTL) and
    between out[0] and out[1] output tokens, at `price`'s rates.

    Low: one cache write per TTL and reads after it, the fewest output tokens. High: every cached request
    writes its prefix, the most output tokens. The prompt-length band is chosen from the average request.
    """
    plain = input_tokens - prefix_tokens
    prefix_5m, cached_5m = prefix_tokens - prefix_1h_tokens, cached - cached_1h
    one_5m = prefix_5m // cached_5m if cached_5m else 0
    one_1h = prefix_1h_tokens // cached_1h if cached_1h else 0
    average = TokenCounts(input=input_tokens // max(requests, 1))
    rates = price.rates_for(average)
    low = TokenCounts(
        input=plain,
        output=out[0],
        cache_write_5m=one_5m,
        cache_write_1h=one_1h,
        cache_read=prefix_tokens - one_5m - one_1h,
    )
    high = TokenCounts(input=plain, output=out[1], cache_write_5m=prefix_5m, cache_write_1h=prefix_1h_tokens)
    return CostRange(rates.cost(low), rates.cost(high))


def _model_estimate(
    model: str, tally: ModelTally, tokens_per_char: float, settings: Settings | None
) -> ModelEstimate:
    # At least one token a request: a message is never free ("hi" is not 0 tokens).
    input_tokens = max(round(tally.text_chars * tokens_per_char), tally.requests)
    prefix = min(round(tally.cached_prefix_chars * tokens_per_char), input_tokens)
    prefix_1h = min(round(tally.cached_1h_prefix_chars * tokens_per_char), prefix)
    out = (tally.requests, tally.max_tokens)
    price = price_for(model, settings)
    batch = standard = None
    if price is not None:
        args = (
            tally.requests,
            input_tokens,
            prefix,
            tally.cached_requests,
            out,
            prefix_1h,
            tally.cached_1h_requests,
        )
        standard = cost_range(price, *args)
        batch = cost_range(price.at_batch(), *args)
    return ModelEstimate(
        model, tally.requests, input_tokens, out[0], out[1], tally.cached_requests, prefix, batch, standard
    )


def local_estimate(tallies: dict[str, ModelTally], settings: Settings | None = None) -> Estimate:
    """The offline estimate: about four characters a token."""
    return Estimate(
        tuple(_model_estimate(m, t, 1 / CHARS_PER_TOKEN, settings) for m, t in sorted(tallies.items())),
        f"local estimate (about {CHARS_PER_TOKEN:g} characters a token)",
    )


def _sample_indices(total: int, size: int) -> set[int]:
    """`size` request positions spread evenly over `total` (all of them when size >= total)."""
    if size >= total:
        return set(range(total))
    return {i * total // size for i in range(size)}


async def counted_estimate(
    tallies: dict[str, ModelTally],
    requests: Callable[[], Iterator[dict[str, Any]]],
    client: AsyncAnthropic,
    *,
    mode: Mode = "sample",
    sample_size: int = 40,
    concurrency: int = 8,
    settings: Settings | None = None,
) -> Estimate:
    """Input tokens from count_tokens: for a sample (scaled by characters per model) or for every request.

    `requests()` yields each request's params in order, afresh on each call (read from the file or the
    store, so memory stays bounded). Models whose counts fail fall back to the local estimate, with a note.
    """
    total = sum(t.requests for t in tallies.values())
    wanted = _sample_indices(total, total if mode == "all" else sample_size)
    counted_chars: dict[str, int] = {}
    counted_tokens: dict[str, int] = {}
    failures: list[tuple[int, str]] = []
    """(position in the file, what went wrong): counts finish in any order, the note names the first."""
    gate = asyncio.Semaphore(concurrency)

    async def count(position: int, params: dict[str, Any]) -> None:
        model = params["model"]
        async with gate:
            try:
                tokens = await count_input_tokens(client, params)
            except ApiError as exc:
                failures.append((position, f"{model}: {exc.message}"))
                return
        chars, _ = text_chars(params)
        counted_chars[model] = counted_chars.get(model, 0) + chars
        counted_tokens[model] = counted_tokens.get(model, 0) + tokens

    last_wanted = max(wanted, default=-1)
    window = concurrency * 8  # a bounded window of requests in flight
    positions = enumerate(requests())

    def next_window() -> tuple[list[tuple[int, dict[str, Any]]], bool]:
        """The next sampled requests and their positions, read and parsed in a thread (the file is read
        up to the last sampled position: nearly all of it); True once there are no more."""
        batch: list[tuple[int, dict[str, Any]]] = []
        for position, params in positions:
            if position in wanted:
                batch.append((position, params))
            if position >= last_wanted:
                return batch, True  # the rest of the file is not in the sample: no need to read it
            if len(batch) >= window:
                return batch, False
        return batch, True

    done_reading = last_wanted < 0
    while not done_reading:
        batch, done_reading = await asyncio.to_thread(next_window)
        await asyncio.gather(*(count(position, p) for position, p in batch))

    notes: list[str] = []
    if failures:
        first = min(failures)[1]
        notes.append(f"count_tokens failed for {plural(len(failures), 'request')}, first: {first}")
    models = []
    for model, tally in sorted(tallies.items()):
        chars, tokens = counted_chars.get(model, 0), counted_tokens.get(model, 0)
        if tokens and chars:
            ratio = tokens / chars
        else:
            ratio = 1 / CHARS_PER_TOKEN
            notes.append(f"{model}: no request could be counted; using about 4 characters a token")
        models.append(_model_estimate(model, tally, ratio, settings))
    done = len(wanted) - len(failures)
    method = (
        ("count_tokens for the one request" if done == 1 else f"count_tokens for all {done:,} requests")
        if mode == "all"
        else f"count_tokens for a sample of {done:,} of {plural(total, 'request')}, scaled by characters"
    )
    return Estimate(tuple(models), method, tuple(notes))


def format_estimate(estimate: Estimate) -> list[str]:
    """Plain-text lines for the CLI (no markup)."""
    low_out, high_out = estimate.output_range
    batch, standard = estimate.total("batch"), estimate.total("standard")
    lines = [
        f"Estimate ({estimate.method}):",
        f"  requests:      {estimate.requests:,}",
        f"  input tokens:  {estimate.input_tokens:,}",
        f"  output tokens: {low_out:,} .. {high_out:,} (bounded by max_tokens)",
        f"  cost at batch price:    {_usd(batch)}",
        f"  cost at standard price: {_usd(standard)} (the batch API saves {_usd(_minus(standard, batch))})",
    ]
    cached = sum(m.cached_requests for m in estimate.models)
    if cached:
        lines.append(
            f"  prompt caching: {plural(cached, 'request')} {'asks' if cached == 1 else 'ask'} for it; the "
            "range assumes from one cache write "
            "then reads, to a write for every request (requests in one batch may not see each other's writes)"
        )
    if len(estimate.models) > 1:
        for m in estimate.models:
            cost = "price unknown" if m.batch is None else _usd(m.batch)
            counts = f"{plural(m.requests, 'request')}, {plural(m.input_tokens, 'input token')}"
            lines.append(f"    {m.model}: {counts}, {cost}")
    for model in estimate.unpriced_models:
        lines.append(
            f"  {model}: price unknown, not included in the totals (add [prices.{model}] to the config)"
        )
    lines += [f"  note: {note}" for note in estimate.notes]
    return lines


def _minus(a: CostRange, b: CostRange) -> CostRange:
    return CostRange(a.low - b.low, a.high - b.high)


def _usd(value: CostRange) -> str:
    low, high = _money(value.low), _money(value.high)
    return low if low == high else f"{low} .. {high}"


def _money(amount: float) -> str:
    if 0 < amount < 0.00005:
        return "<$0.0001"  # a few tokens: not free, just under what four decimals show
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def params_of(requests: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Adapt `jsonl.iter_chunk`'s (line, request) pairs to the params `counted_estimate` reads."""
    for _, request in requests:
        yield request["params"]
