"""A streamed reply's figures without Textual: usage, costs at standard and batch prices, and live stream
statistics (time to first token, total time, token rate), measured with an injectable monotonic timer so
tests control time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchboard.core.pricing import ModelPrice, TokenCounts

Timer = Callable[[], float]

#: Standard prices for a model, or None when its price is unknown (never guess, never price at zero).
PriceLookup = Callable[[str], ModelPrice | None]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_1h_tokens: int = 0
    """The part of cache_creation_input_tokens written with a one-hour lifetime (the rest is 5-minute)."""

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From an SDK `Usage` or `MessageDeltaUsage` (attribute access; missing or None fields are 0)."""

        def get(obj: Any, name: str) -> int:
            value = getattr(obj, name, None)
            return int(value) if isinstance(value, int) else 0

        creation = getattr(usage, "cache_creation", None)
        return cls(
            input_tokens=get(usage, "input_tokens"),
            output_tokens=get(usage, "output_tokens"),
            cache_creation_input_tokens=get(usage, "cache_creation_input_tokens"),
            cache_read_input_tokens=get(usage, "cache_read_input_tokens"),
            cache_write_1h_tokens=get(creation, "ephemeral_1h_input_tokens") if creation else 0,
        )

    def tokens(self) -> TokenCounts:
        """Billed tokens by kind for the pricing arithmetic (writes without a breakdown are 5-minute)."""
        write_1h = min(self.cache_write_1h_tokens, self.cache_creation_input_tokens)
        return TokenCounts(
            input=self.input_tokens,
            output=self.output_tokens,
            cache_write_5m=self.cache_creation_input_tokens - write_1h,
            cache_write_1h=write_1h,
            cache_read=self.cache_read_input_tokens,
        )


def cost(usage: Usage, price: ModelPrice, *, batch: bool = False) -> float:
    """What `usage` costs in USD at standard prices, or at batch prices (50% of every rate)."""
    return (price.at_batch() if batch else price).cost(usage.tokens())


def format_cost(value: float | None) -> str:
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.5f}"
    return f"${value:.4f}"


def format_reply_cost(stats: StreamStats, price: ModelPrice | None, *, batch: bool = False) -> str:
    """What a streamed reply costs, at standard or at batch prices, as the pane shows it: "price unknown";
    "–" until something arrives, then "no cost" if the stream ended with nothing (never "$0", which would
    read as a price); "≈" marks an estimate (the final usage has not come), "partial" a stream that ended
    early, priced from the usage received."""
    if price is None:
        return format_cost(None)
    standard, batched = stats.costs(price)
    value = batched if batch else standard
    if value is None:
        return "–" if stats.running else "no cost"
    if stats.exact_usage:
        return format_cost(value)
    return f"≈{format_cost(value)}" + ("" if stats.running else " partial")


def format_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60)
    if minutes < 60:
        return f"{minutes:.0f} min {seconds:02.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:.0f} h {minutes:02.0f} min"


class StreamStats:
    """Time to first token, total time, token rate and usage of one streamed reply, read live or after.

    Times come from `timer` (monotonic seconds). The output token count is an estimate (≈4 characters a
    token) until the API reports usage; `exact_usage` says which one you are looking at.
    """

    def __init__(self, timer: Timer = time.perf_counter) -> None:
        self._timer = timer
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self.ended_at: float | None = None
        self.chars = 0
        self.chunks = 0
        self.usage: Usage | None = None
        self.exact_usage = False
        self.stop_reason: str | None = None

    def start(self) -> None:
        self.started_at = self._timer()

    def on_text(self, text: str) -> None:
        now = self._timer()
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self.chars += len(text)
        self.chunks += 1

    def on_usage(self, usage: Usage) -> None:
        # message_delta usage carries only the cumulative output tokens: keep the input seen at message_start.
        if self.usage is not None and not usage.input_tokens:
            usage = Usage(
                input_tokens=self.usage.input_tokens,
                output_tokens=usage.output_tokens or self.usage.output_tokens,
                cache_creation_input_tokens=self.usage.cache_creation_input_tokens,
                cache_read_input_tokens=self.usage.cache_read_input_tokens,
                cache_write_1h_tokens=self.usage.cache_write_1h_tokens,
            )
        self.usage = usage

    def finish(self, stop_reason: str | None = None, usage: Usage | None = None) -> None:
        if self.ended_at is None:
            self.ended_at = self._timer()
        if usage is not None:
            self.usage = usage
            self.exact_usage = True
        if stop_reason is not None:
            self.stop_reason = stop_reason

    @property
    def received_nothing(self) -> bool:
        """Neither usage nor text has arrived: nothing to price (the API bills no request refused before
        its stream started)."""
        return self.usage is None and self.chars == 0

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    @property
    def ttft(self) -> float | None:
        """Seconds from sending the request to the first text arriving."""
        if self.started_at is None or self.first_token_at is None:
            return None
        return self.first_token_at - self.started_at

    def total(self) -> float | None:
        """Seconds from sending to the end of the stream (so far, while it runs)."""
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else self._timer()
        return end - self.started_at

    @property
    def output_tokens(self) -> int:
        """The final count once known; while streaming, the larger of the API's running count (message_start
        already says 1) and an estimate from the text so far."""
        reported = self.usage.output_tokens if self.usage is not None else 0
        if self.exact_usage:
            return reported
        return max(reported, math.ceil(self.chars / 4))

    @property
    def input_tokens(self) -> int | None:
        return self.usage.input_tokens if self.usage is not None else None

    def tokens_per_second(self) -> float | None:
        """Output tokens per second of generation, from the first token to the last (or to now)."""
        if self.first_token_at is None:
            return None
        end = self.last_token_at if self.ended_at is not None else self._timer()
        span = (end or self.first_token_at) - self.first_token_at
        tokens = self.output_tokens
        if span <= 0 or tokens < 2:
            return None
        # Tokens after the first arrive over `span`: the first one's arrival is what TTFT measures.
        return (tokens - 1) / span

    def usage_for_cost(self) -> Usage:
        """The final usage, or an estimate from what arrived so far."""
        if self.usage is not None and self.exact_usage:
            return self.usage
        base = self.usage or Usage()
        return Usage(
            input_tokens=base.input_tokens,
            output_tokens=self.output_tokens,
            cache_creation_input_tokens=base.cache_creation_input_tokens,
            cache_read_input_tokens=base.cache_read_input_tokens,
            cache_write_1h_tokens=base.cache_write_1h_tokens,
        )

    def costs(self, price: ModelPrice | None) -> tuple[float | None, float | None]:
        """(standard, batch) cost of this reply in USD; None when the price is unknown or nothing has
        arrived to price (`received_nothing`)."""
        if price is None or self.received_nothing:
            return None, None
        usage = self.usage_for_cost()
        return cost(usage, price), cost(usage, price, batch=True)
