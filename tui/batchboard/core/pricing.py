"""Prices as data: the bundled per-model rate table (`prices.toml`), config overrides, and the arithmetic.

Rates are USD per million tokens at standard prices; the Batch API bills 50% of every rate. A model with
no price is `None` from `price_for`, and callers show "price unknown": never a silent zero.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from batchboard.core.config import Settings

TOKEN_KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
"""The billed token kinds, in display order; also the keys of a price table entry."""

BATCH_DISCOUNT = 0.5
"""Batch API price as a fraction of the standard price, for every token kind."""

PRICE_UNKNOWN = "price unknown"

# Multipliers of the input rate used to fill cache rates missing from a user's override
# (the published ratios for most models: 5-minute write 1.25x, 1-hour write 2x, read 0.1x).
_DEFAULT_CACHE_MULTIPLIERS = {"cache_write_5m": 1.25, "cache_write_1h": 2.0, "cache_read": 0.1}
_DATE_SUFFIX = re.compile(r"-\d{8}$")


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Billed tokens of one request or a sum of requests, split by kind."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @property
    def prompt(self) -> int:
        """Every input-side token: base input, cache writes and cache reads."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(*(getattr(self, k) + getattr(other, k) for k in TOKEN_KINDS))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in TOKEN_KINDS}

    @classmethod
    def from_usage(cls, usage: Mapping[str, Any] | None) -> TokenCounts:
        """From a Message `usage` object as JSON. Cache writes without the TTL breakdown count as 5-minute
        writes (the default TTL); a breakdown that falls short of the total puts the rest there too."""
        if not usage:
            return cls()
        written = _int(usage.get("cache_creation_input_tokens"))
        breakdown = usage.get("cache_creation")
        one_hour = 0
        five_min = written
        if isinstance(breakdown, Mapping):
            one_hour = _int(breakdown.get("ephemeral_1h_input_tokens"))
            five_min = max(_int(breakdown.get("ephemeral_5m_input_tokens")), written - one_hour)
        return cls(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cache_write_5m=five_min,
            cache_write_1h=one_hour,
            cache_read=_int(usage.get("cache_read_input_tokens")),
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for each token kind."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    def scaled(self, factor: float) -> Rates:
        return Rates(*(getattr(self, k) * factor for k in TOKEN_KINDS))

    def cost_by_kind(self, tokens: TokenCounts) -> dict[str, float]:
        return {k: getattr(tokens, k) * getattr(self, k) / 1_000_000 for k in TOKEN_KINDS}

    def cost(self, tokens: TokenCounts) -> float:
        return sum(self.cost_by_kind(tokens).values())

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in TOKEN_KINDS}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """One model's prices. `long_rates` apply to every token of a request whose prompt exceeds
    `long_prompt_threshold` (Haiku 5.5's two bands); most models have one flat card."""

    model: str
    rates: Rates
    source: str = "bundled"
    """"bundled" (prices.toml) or "config" (the user's override)."""
    long_prompt_threshold: int | None = None
    long_rates: Rates | None = None
    batch: bool = False
    """True when these are batch rates (already discounted)."""

    def is_long(self, tokens: TokenCounts) -> bool:
        return self.long_prompt_threshold is not None and tokens.prompt > self.long_prompt_threshold

    def rates_for(self, tokens: TokenCounts) -> Rates:
        """The band that applies to one request's tokens."""
        if self.long_rates is not None and self.is_long(tokens):
            return self.long_rates
        return self.rates

    def cost(self, tokens: TokenCounts) -> float:
        """Cost of ONE request (bands are decided per request)."""
        return self.rates_for(tokens).cost(tokens)

    def at_batch(self) -> ModelPrice:
        """The Batch API's prices: 50% of every rate, in every band."""
        if self.batch:
            return self
        return replace(
            self,
            rates=self.rates.scaled(BATCH_DISCOUNT),
            long_rates=self.long_rates.scaled(BATCH_DISCOUNT) if self.long_rates else None,
            batch=True,
        )


@dataclass(frozen=True)
class PriceTable:
    """The bundled table: prices by model id, aliases, models known to have no price, and provenance."""

    prices: dict[str, ModelPrice]
    aliases: dict[str, str]
    unknown: dict[str, str]
    checked: str
    sources: tuple[str, ...]

    def lookup(self, model: str) -> ModelPrice | None:
        name = self.canonical(model)
        return self.prices.get(name) if name else None

    def canonical(self, model: str) -> str | None:
        """Resolve aliases and dated snapshot ids (`claude-x-20250101` → `claude-x`)."""
        for candidate in (model, _DATE_SUFFIX.sub("", model)):
            if candidate in self.prices:
                return candidate
            if candidate in self.aliases:
                return self.aliases[candidate]
        return None

    def why_unknown(self, model: str) -> str:
        """A short reason a model has no price, for tooltips and `batchboard cost`."""
        reason = self.unknown.get(model) or self.unknown.get(_DATE_SUFFIX.sub("", model))
        return reason or "not in the bundled price table; add [prices.MODEL] to the config file"


def _rates(table: Mapping[str, Any]) -> Rates:
    return Rates(*(float(table[k]) for k in TOKEN_KINDS))


def parse_price_table(text: str) -> PriceTable:
    """Parse a price table document (the format of the bundled `prices.toml`). Raises on malformed data:
    the bundled file is ours, and a test loads it."""
    doc = tomllib.loads(text)
    prices: dict[str, ModelPrice] = {}
    aliases: dict[str, str] = {}
    for model, table in doc.get("models", {}).items():
        long = table.get("long_prompt")
        prices[model] = ModelPrice(
            model=model,
            rates=_rates(table),
            long_prompt_threshold=int(long["threshold"]) if long else None,
            long_rates=_rates(long) if long else None,
        )
        for alias in table.get("aliases", []):
            aliases[alias] = model
    meta = doc.get("meta", {})
    return PriceTable(
        prices=prices,
        aliases=aliases,
        unknown={str(k): str(v) for k, v in doc.get("unknown", {}).items()},
        checked=str(meta.get("checked", "")),
        sources=tuple(meta.get("sources", ())),
    )


@lru_cache(maxsize=1)
def bundled_table() -> PriceTable:
    text = resources.files("batchboard.core").joinpath("prices.toml").read_text(encoding="utf-8")
    return parse_price_table(text)


def price_for(
    model: str, settings: Settings | None = None, table: PriceTable | None = None
) -> ModelPrice | None:
    """Standard prices for `model`, or None when unknown.

    A config override (`[prices.MODEL]`) wins key by key over the bundled card; on a model the table does
    not know, an override needs at least `input` and `output` (missing cache rates are derived from the
    input rate with the usual multipliers). An override replaces any prompt-length bands with flat rates.
    """
    table = table or bundled_table()
    bundled = table.lookup(model)
    override = _override_for(model, settings, table)
    if not override:
        return bundled
    if bundled is not None:
        merged = {**bundled.rates.as_dict(), **override}
    else:
        if "input" not in override or "output" not in override:
            return None
        merged = {
            k: override.get(k, override["input"] * _DEFAULT_CACHE_MULTIPLIERS.get(k, 1.0))
            for k in TOKEN_KINDS
        }
    return ModelPrice(model=bundled.model if bundled else model, rates=_rates(merged), source="config")


def _override_for(model: str, settings: Settings | None, table: PriceTable) -> dict[str, float]:
    if settings is None or not settings.prices:
        return {}
    canonical = table.canonical(model)
    for name in (model, _DATE_SUFFIX.sub("", model), canonical):
        if name and name in settings.prices:
            return {k: float(v) for k, v in settings.prices[name].items() if k in TOKEN_KINDS}
    return {}


def known_models(table: PriceTable | None = None) -> list[str]:
    return sorted((table or bundled_table()).prices)


__all__ = [
    "BATCH_DISCOUNT",
    "PRICE_UNKNOWN",
    "TOKEN_KINDS",
    "ModelPrice",
    "PriceTable",
    "Rates",
    "TokenCounts",
    "bundled_table",
    "known_models",
    "parse_price_table",
    "price_for",
]
