"""What batches cost: per batch, per model, per token kind, at batch price, with the standard-price equivalent
and the saving; and overall totals (today, this month, all time, in UTC).

Pure arithmetic over usage sums (`UsageGroup`), which the results index keeps per batch. Only succeeded
requests are billed, so only their usage is summed. A model without a price is listed in `unknown_models`
and left out of the totals, which are then marked incomplete: never priced at zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from batchboard.core.config import Settings
from batchboard.core.pricing import TOKEN_KINDS, PriceTable, TokenCounts, price_for


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """Summed usage of one batch's succeeded requests for one model in one price band."""

    batch_id: str
    model: str
    requests: int
    tokens: TokenCounts
    long_prompt: bool = False
    """True for requests whose prompt exceeded the model's long-prompt threshold (banded models only)."""


@dataclass(frozen=True)
class ModelCost:
    model: str
    requests: int
    tokens: TokenCounts
    price_known: bool
    price_source: str | None = None
    """"bundled" or "config"; None when the price is unknown."""
    batch_by_kind: dict[str, float] = field(default_factory=dict)
    standard_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def batch_cost(self) -> float | None:
        return sum(self.batch_by_kind.values()) if self.price_known else None

    @property
    def standard_cost(self) -> float | None:
        return sum(self.standard_by_kind.values()) if self.price_known else None

    @property
    def saving(self) -> float | None:
        if not self.price_known:
            return None
        return sum(self.standard_by_kind.values()) - sum(self.batch_by_kind.values())


@dataclass(frozen=True)
class BatchCost:
    """A batch's actual cost. Totals cover the models with a known price; `complete` says whether that is
    all of them."""

    batch_id: str
    models: tuple[ModelCost, ...]

    @property
    def unknown_models(self) -> list[str]:
        return [m.model for m in self.models if not m.price_known]

    @property
    def complete(self) -> bool:
        return not self.unknown_models

    @property
    def batch_cost(self) -> float:
        return sum(m.batch_cost or 0.0 for m in self.models)

    @property
    def standard_cost(self) -> float:
        return sum(m.standard_cost or 0.0 for m in self.models)

    @property
    def saving(self) -> float:
        return self.standard_cost - self.batch_cost

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.models)

    @property
    def tokens(self) -> TokenCounts:
        total = TokenCounts()
        for m in self.models:
            total = total + m.tokens
        return total

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for `batchboard cost --json`."""
        return {
            "batch_id": self.batch_id,
            "batch_cost_usd": self.batch_cost,
            "standard_cost_usd": self.standard_cost,
            "saving_usd": self.saving,
            "complete": self.complete,
            "unknown_models": self.unknown_models,
            "billed_requests": self.requests,
            "models": [
                {
                    "model": m.model,
                    "requests": m.requests,
                    "tokens": m.tokens.as_dict(),
                    "price_known": m.price_known,
                    "price_source": m.price_source,
                    "batch_cost_usd": m.batch_cost,
                    "standard_cost_usd": m.standard_cost,
                    "saving_usd": m.saving,
                    "batch_by_kind_usd": m.batch_by_kind or None,
                    "standard_by_kind_usd": m.standard_by_kind or None,
                }
                for m in self.models
            ],
        }


def batch_cost(
    batch_id: str,
    groups: Iterable[UsageGroup],
    settings: Settings | None = None,
    table: PriceTable | None = None,
) -> BatchCost:
    """Price one batch's usage groups. Bands are applied per group (each group is one band)."""
    by_model: dict[str, list[UsageGroup]] = {}
    for group in groups:
        if group.batch_id == batch_id:
            by_model.setdefault(group.model, []).append(group)
    models: list[ModelCost] = []
    for model, model_groups in sorted(by_model.items()):
        tokens = TokenCounts()
        for g in model_groups:
            tokens = tokens + g.tokens
        requests = sum(g.requests for g in model_groups)
        price = price_for(model, settings, table)
        if price is None:
            models.append(ModelCost(model, requests, tokens, price_known=False))
            continue
        batch_price = price.at_batch()
        standard = dict.fromkeys(TOKEN_KINDS, 0.0)
        discounted = dict.fromkeys(TOKEN_KINDS, 0.0)
        for g in model_groups:
            std_rates = price.long_rates if (g.long_prompt and price.long_rates) else price.rates
            bat_rates = (
                batch_price.long_rates if (g.long_prompt and batch_price.long_rates) else batch_price.rates
            )
            for kind, value in std_rates.cost_by_kind(g.tokens).items():
                standard[kind] += value
            for kind, value in bat_rates.cost_by_kind(g.tokens).items():
                discounted[kind] += value
        models.append(
            ModelCost(
                model,
                requests,
                tokens,
                True,
                price.source,
                batch_by_kind=discounted,
                standard_by_kind=standard,
            )
        )
    return BatchCost(batch_id, tuple(models))


@dataclass(frozen=True)
class Spend:
    """Batch-price spend and saving over a period; `incomplete` when some model had no price."""

    cost: float = 0.0
    saving: float = 0.0
    batches: int = 0
    incomplete: bool = False
    requests: int = 0
    """Billed (succeeded) requests."""

    def plus(self, cost: BatchCost) -> Spend:
        return Spend(
            self.cost + cost.batch_cost,
            self.saving + cost.saving,
            self.batches + 1,
            self.incomplete or not cost.complete,
            self.requests + cost.requests,
        )


@dataclass(frozen=True)
class CostTotals:
    today: Spend
    this_month: Spend
    all_time: Spend

    def as_dict(self) -> dict[str, object]:
        def spend(s: Spend) -> dict[str, object]:
            return {
                "cost_usd": s.cost,
                "saving_usd": s.saving,
                "batches": s.batches,
                "incomplete": s.incomplete,
            }

        return {
            "today": spend(self.today),
            "this_month": spend(self.this_month),
            "all_time": spend(self.all_time),
        }


#: The periods of `totals`, each inside the one before.
_ALL, _MONTH, _TODAY = 0, 1, 2


def totals(
    groups: Iterable[UsageGroup],
    ended_at: Mapping[str, datetime | None],
    now: datetime,
    settings: Settings | None = None,
    table: PriceTable | None = None,
) -> CostTotals:
    """Spend and savings today / this month / all time (the calendar of `now`'s zone: UTC in the app), over
    the batches in `ended_at` (batch id -> when it ended), whose usage sums are among `groups` (groups of
    other batches are left out).

    Each period is priced once per model and band from its summed tokens, not batch by batch: cost is
    linear in tokens, so it is the sum of the batches' costs, and it stays quick at 10,000 batches. A batch
    with no end time (should not happen for ingested results) counts only in all time."""
    if now.tzinfo is None:
        raise ValueError("totals() needs a timezone-aware 'now'")
    day, month = now.date(), (now.year, now.month)
    period: dict[str, int] = {}  # the narrowest period each batch counts in; it counts in the wider ones
    for batch_id, ended in ended_at.items():
        if ended is None:
            period[batch_id] = _ALL
            continue
        ended = ended.astimezone(now.tzinfo)
        if (ended.year, ended.month) != month:
            period[batch_id] = _ALL
        else:
            period[batch_id] = _TODAY if ended.date() == day else _MONTH
    sums: list[dict[tuple[str, bool], list[int]]] = [{}, {}, {}]
    for group in groups:
        narrowest = period.get(group.batch_id)
        if narrowest is None:
            continue
        tokens = group.tokens
        for level in range(narrowest + 1):
            total = sums[level].setdefault((group.model, group.long_prompt), [0, 0, 0, 0, 0, 0])
            total[0] += group.requests
            total[1] += tokens.input
            total[2] += tokens.output
            total[3] += tokens.cache_write_5m
            total[4] += tokens.cache_write_1h
            total[5] += tokens.cache_read
    batches = [len(period), 0, 0]
    for narrowest in period.values():
        for level in range(1, narrowest + 1):
            batches[level] += 1

    def spend(level: int) -> Spend:
        summed = [
            UsageGroup("", model, total[0], TokenCounts(*total[1:]), long_prompt)
            for (model, long_prompt), total in sums[level].items()
        ]
        cost = batch_cost("", summed, settings, table)
        return Spend(cost.batch_cost, cost.saving, batches[level], not cost.complete, cost.requests)

    return CostTotals(spend(_TODAY), spend(_MONTH), spend(_ALL))
