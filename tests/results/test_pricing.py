"""Prices: the bundled table loads, lookups resolve aliases and dated ids, overrides win, unknown is None."""

from __future__ import annotations

import pytest

from batchboard.core.config import Settings
from batchboard.core.pricing import (
    TOKEN_KINDS,
    TokenCounts,
    bundled_table,
    parse_price_table,
    price_for,
)


def test_bundled_table_has_provenance_and_every_rate() -> None:
    table = bundled_table()
    assert table.checked and table.sources
    assert "claude-sonnet-5-5" in table.prices
    for price in table.prices.values():
        for kind in TOKEN_KINDS:
            assert getattr(price.rates, kind) > 0, (price.model, kind)


def test_every_sdk_model_is_priced_or_explicitly_unknown() -> None:
    from typing import get_args

    from anthropic.types.model import Model

    literal = get_args(Model)[0]
    table = bundled_table()
    missing = [m for m in get_args(literal) if table.lookup(m) is None and m not in table.unknown]
    assert missing == []


def test_aliases_and_dated_snapshots_resolve() -> None:
    assert price_for("claude-haiku-4-5-20251001").model == "claude-haiku-4-5"  # type: ignore[union-attr]
    assert price_for("claude-sonnet-4-6-20990101").model == "claude-sonnet-4-6"  # type: ignore[union-attr]


def test_unknown_model_has_no_price_never_zero() -> None:
    assert price_for("claude-mythos-5-2") is None
    assert price_for("not-a-model") is None
    assert "no published price" in bundled_table().why_unknown("claude-mythos-5-2")


def test_batch_is_half_of_every_rate_in_every_band() -> None:
    price = price_for("claude-haiku-5-5")
    assert price is not None and price.long_rates is not None
    batch = price.at_batch()
    for kind in TOKEN_KINDS:
        assert getattr(batch.rates, kind) == pytest.approx(getattr(price.rates, kind) / 2)
        assert getattr(batch.long_rates, kind) == pytest.approx(getattr(price.long_rates, kind) / 2)  # type: ignore[union-attr]
    assert batch.at_batch() is batch


def test_config_override_wins_key_by_key() -> None:
    settings = Settings(prices={"claude-sonnet-4-6": {"input": 1.0}})
    price = price_for("claude-sonnet-4-6", settings)
    assert price is not None and price.source == "config"
    assert price.rates.input == 1.0
    assert price.rates.output == 15.0  # from the bundled card


def test_override_prices_an_unknown_model_deriving_cache_rates() -> None:
    settings = Settings(prices={"claude-mythos-5-2": {"input": 8.0, "output": 40.0}})
    price = price_for("claude-mythos-5-2", settings)
    assert price is not None
    assert price.rates.cache_write_5m == pytest.approx(10.0)
    assert price.rates.cache_write_1h == pytest.approx(16.0)
    assert price.rates.cache_read == pytest.approx(0.8)
    # Half an override is not a price.
    assert price_for("mystery", Settings(prices={"mystery": {"input": 1.0}})) is None


def test_token_counts_from_usage_with_and_without_ttl_breakdown() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 600,
        "cache_read_input_tokens": 5,
        "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 400},
    }
    assert TokenCounts.from_usage(usage) == TokenCounts(10, 20, 200, 400, 5)
    without = {k: v for k, v in usage.items() if k != "cache_creation"}
    assert TokenCounts.from_usage(without) == TokenCounts(10, 20, 600, 0, 5)
    nulls = {
        "input_tokens": 3,
        "output_tokens": 4,
        "cache_creation_input_tokens": None,
        "cache_creation": None,
    }
    assert TokenCounts.from_usage(nulls) == TokenCounts(3, 4, 0, 0, 0)


def test_parse_rejects_a_card_missing_a_rate() -> None:
    with pytest.raises(KeyError):
        parse_price_table("[models.x]\ninput = 1\noutput = 2\n")
