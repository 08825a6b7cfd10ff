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


def totals(
    costs: Mapping[str, BatchCost], ended_at: Mapping[str, datetime | None], now: datetime
) -> CostTotals:
    """Sum batch costs into today / this month / all time by when each batch ended (UTC calendar).

    A batch with no end time (should not happen for ingested results) counts only in all time."""
    if now.tzinfo is None:
        raise ValueError("totals() needs a timezone-aware 'now'")
    today = month = every = Spend()
    for batch_id, cost in costs.items():
        every = every.plus(cost)
        ended = ended_at.get(batch_id)
        if ended is None:
            continue
        ended = ended.astimezone(now.tzinfo)
        if (ended.year, ended.month) == (now.year, now.month):
            month = month.plus(cost)
            if ended.date() == now.date():
                today = today.plus(cost)
    return CostTotals(today, month, every)
