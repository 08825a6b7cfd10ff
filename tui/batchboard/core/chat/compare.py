"""Streamed vs batched, for one request: "send as batch" through the crash-safe submit path, and the
comparison of the two sides' times and costs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from batchboard.core.chat.conversation import ChatRequest, Turn
from batchboard.core.chat.stats import cost
from batchboard.core.clock import Clock
from batchboard.core.pricing import ModelPrice
from batchboard.core.store import Store

if TYPE_CHECKING:
    from batchboard.core.gateway.chat import ClientFactory

#: How the pane labels the one-request batches it sends, so the table shows what they are.
COMPARISON_ID_PREFIX = "chat-compare-"

#: Submits `request` as a one-request batch whose custom_id is the second argument; returns the batch id.
SubmitBatch = Callable[[ChatRequest, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Streamed vs batched, for one request."""

    streamed_ttft: float | None
    streamed_total: float | None
    batched_end_to_end: float | None
    streamed_cost: float | None
    batched_cost: float | None

    @property
    def saving(self) -> float | None:
        if self.streamed_cost is None or self.batched_cost is None:
            return None
        return self.streamed_cost - self.batched_cost

    @property
    def saving_percent(self) -> float | None:
        if self.saving is None or not self.streamed_cost:
            return None
        return 100 * self.saving / self.streamed_cost


def compare(turn: Turn, price: ModelPrice | None) -> Comparison:
    """Each side is priced from its own final usage: streamed at standard prices, the batch at 50%."""
    batch = turn.batch
    streamed_cost = turn.stats.costs(price)[0]
    batched_cost: float | None = None
    if (
        price is not None
        and batch is not None
        and batch.answer is not None
        and batch.answer.usage is not None
    ):
        batched_cost = cost(batch.answer.usage, price, batch=True)
    return Comparison(
        streamed_ttft=turn.stats.ttft,
        streamed_total=turn.stats.total(),
        batched_end_to_end=batch.end_to_end if batch else None,
        streamed_cost=streamed_cost,
        batched_cost=batched_cost,
    )


def comparison_custom_id(turn_index: int, salt: int) -> str:
    """A custom_id that labels the batch as a chat comparison (matches ^[a-zA-Z0-9_-]{1,64}$)."""
    return f"{COMPARISON_ID_PREFIX}{turn_index}-{salt:x}"[:64]


class SafeBatchSubmitter:
    """ "Send as batch" through the crash-safe submit path: the request and the intent are stored before
    create, the batch is labelled as a chat comparison, and it lands in the store (so the table shows it)."""

    def __init__(self, store: Store, client_factory: ClientFactory, clock: Clock) -> None:
        self.store = store
        self.client_factory = client_factory
        self.clock = clock

    async def __call__(self, request: ChatRequest, custom_id: str) -> str:
        from batchboard.core.submit.intents import Submitter, prepare_requests

        # The submit tables are registered when that module is first imported, maybe after the store opened.
        self.store.ensure_schemas()
        submission = prepare_requests(
            self.store,
            [(custom_id, orjson.dumps(request.params()))],
            kind="chat",
            label=f"chat comparison ({request.model})",
            clock=self.clock,
        )
        client = await self.client_factory()
        sent = await Submitter(self.store, client, self.clock).send(submission.id)
        return sent.batch_ids[0]
