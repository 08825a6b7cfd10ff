"""Cost arithmetic against hand-computed examples, including 5-minute and 1-hour cache writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batchboard.core.config import Settings
from batchboard.core.cost import UsageGroup, batch_cost, totals
from batchboard.core.pricing import TokenCounts


def test_sonnet_request_with_every_token_kind() -> None:
    # claude-sonnet-4-6 standard: input $3, output $15, 5m write $3.75, 1h write $6, read $0.30 per MTok.
    #   1,000 input        × 3.00 / 1e6 = 0.003
    #     500 output       × 15.0 / 1e6 = 0.0075
    #   2,000 5m write     × 3.75 / 1e6 = 0.0075
    #   4,000 1h write     × 6.00 / 1e6 = 0.024
    #  10,000 cache read   × 0.30 / 1e6 = 0.003
    #                               total 0.045 standard, 0.0225 at batch price, saving 0.0225
    group = UsageGroup("b1", "claude-sonnet-4-6", 1, TokenCounts(1000, 500, 2000, 4000, 10000))
    cost = batch_cost("b1", [group])
    (model,) = cost.models
    assert model.standard_by_kind == pytest.approx(
        {
            "input": 0.003,
            "output": 0.0075,
            "cache_write_5m": 0.0075,
            "cache_write_1h": 0.024,
            "cache_read": 0.003,
        }
    )
    assert cost.standard_cost == pytest.approx(0.045)
    assert cost.batch_cost == pytest.approx(0.0225)
    assert cost.saving == pytest.approx(0.0225)
    assert cost.complete


def test_two_models_and_haiku_5_5_bands() -> None:
    # Haiku 5.5 short band (prompt ≤ 100k): 2 requests, 3,000 input × 0.10 + 400 output × 0.50
    #   = 0.0003 + 0.0002
    # Haiku 5.5 long band: 90,000 input × 0.50 + 20,000 read × 0.05 + 1,000 output × 2.50
    #   = 0.045 + 0.001 + 0.0025 = 0.0485
    # Opus 5.5: 1,000,000 input × 4 + 100,000 output × 20 + 1,000,000 1h write × 8 = 4 + 2 + 8 = 14
    groups = [
        UsageGroup("b2", "claude-haiku-5-5", 2, TokenCounts(input=3000, output=400)),
        UsageGroup("b2", "claude-haiku-5-5", 1, TokenCounts(90_000, 1000, 0, 0, 20_000), long_prompt=True),
        UsageGroup("b2", "claude-opus-5-5", 5, TokenCounts(1_000_000, 100_000, 0, 1_000_000, 0)),
        UsageGroup("other", "claude-opus-5-5", 5, TokenCounts(1, 1, 1, 1, 1)),  # another batch: ignored
    ]
    cost = batch_cost("b2", groups)
    haiku, opus = cost.models
    assert haiku.requests == 3
    assert haiku.standard_cost == pytest.approx(0.0005 + 0.0485)
    assert opus.standard_cost == pytest.approx(14.0)
    assert cost.standard_cost == pytest.approx(14.049)
    assert cost.batch_cost == pytest.approx(7.0245)
    assert cost.requests == 8


def test_unknown_model_is_flagged_not_free() -> None:
    groups = [
        UsageGroup("b3", "claude-mythos-5-2", 4, TokenCounts(input=1_000_000)),
        UsageGroup("b3", "claude-sonnet-5", 1, TokenCounts(input=1_000_000)),  # $2 standard, $1 batch
    ]
    cost = batch_cost("b3", groups)
    assert cost.unknown_models == ["claude-mythos-5-2"]
    assert not cost.complete
    assert cost.batch_cost == pytest.approx(1.0)
    mythos = cost.models[0]
    assert mythos.batch_cost is None and mythos.saving is None
    assert cost.as_dict()["complete"] is False


def test_config_override_changes_the_cost() -> None:
    group = UsageGroup("b4", "claude-sonnet-5", 1, TokenCounts(input=1_000_000))
    settings = Settings(prices={"claude-sonnet-5": {"input": 10.0}})
    assert batch_cost("b4", [group], settings).batch_cost == pytest.approx(5.0)


def test_totals_by_utc_calendar() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def one(batch_id: str, dollars_standard: float) -> UsageGroup:
        tokens = TokenCounts(input=int(dollars_standard * 1_000_000 / 2))  # claude-sonnet-5 input $2/MTok
        return UsageGroup(batch_id, "claude-sonnet-5", 1, tokens)

    groups = [one("today", 2.0), one("month", 4.0), one("old", 8.0), one("x", 16.0), one("not-indexed", 32.0)]
    ended = {
        "today": datetime(2026, 11, 23, 0, 30, tzinfo=UTC),
        "month": datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
        "old": datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        "x": None,
        "all-errored": datetime(2026, 11, 23, 1, 0, tzinfo=UTC),  # indexed, nothing billed
    }
    result = totals(groups, ended, now)
    assert result.today.cost == pytest.approx(1.0)
    assert result.this_month.cost == pytest.approx(3.0)
    assert result.all_time.cost == pytest.approx(15.0)
    assert result.all_time.saving == pytest.approx(15.0)
    assert (result.today.batches, result.this_month.batches, result.all_time.batches) == (2, 3, 5)
    assert result.all_time.requests == 4
    with pytest.raises(ValueError):
        totals(groups, ended, datetime(2026, 11, 23))


def test_totals_are_the_sum_of_the_batches_costs() -> None:
    """Priced per period from summed tokens: the same as pricing each batch and adding up, with bands
    and a model without a price (which marks the total incomplete, never priced at zero)."""
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    groups = [
        UsageGroup("a", "claude-sonnet-4-5", 3, TokenCounts(50_000, 20_000, 1000, 0, 7000)),
        UsageGroup("a", "claude-haiku-5-5", 2, TokenCounts(900_000, 1000, 0, 0, 20_000), long_prompt=True),
        UsageGroup("b", "claude-haiku-5-5", 5, TokenCounts(40_000, 3000, 0, 2000, 0)),
        UsageGroup("b", "claude-haiku-5-5", 1, TokenCounts(300_000, 100, 0, 0, 0), long_prompt=True),
        UsageGroup("c", "claude-mythos-5-2", 4, TokenCounts(10_000, 10_000)),
    ]
    ended = {b: datetime(2026, 11, 23, 3, tzinfo=UTC) for b in "abc"}
    costs = [batch_cost(b, groups) for b in "abc"]
    result = totals(groups, ended, now)
    for spend in (result.today, result.this_month, result.all_time):
        assert spend.cost == pytest.approx(sum(c.batch_cost for c in costs))
        assert spend.saving == pytest.approx(sum(c.saving for c in costs))
        assert spend.requests == sum(c.requests for c in costs) and spend.batches == 3
        assert spend.incomplete
    assert not totals(groups, {"a": ended["a"], "b": ended["b"]}, now).today.incomplete
