"""Streamed vs batched, for one request: "send as batch" through the crash-safe submit path, and the
comparison of the two sides' times and costs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from batchboard.core.chat.conversation import ChatRequest, Turn
from batchboard.core.chat.stats import Usage, cost, format_cost, format_reply_cost
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
    """Streamed vs batched, for one request.

    Two different cost questions. What each reply actually cost (`streamed_cost` at standard prices from
    the stream's usage, `batched_cost` at batch prices from the batch result's usage): the two replies
    differ in length, so these differ by more than the batch discount. And like with like (`same_tokens`,
    one reply's usage priced both ways: `same_standard`, `same_batch`), which is where the batch saving
    (`saving`, `saving_percent`) is read.
    """

    streamed_ttft: float | None
    streamed_total: float | None
    batched_end_to_end: float | None
    streamed_cost: float | None
    """None: the price is unknown, or nothing arrived to price."""
    batched_cost: float | None
    """None: the price is unknown, or the batch result has no usage (an errored request is not billed)."""
    streamed_cost_text: str
    """`streamed_cost` as the pane shows it ("≈… partial" for a stream that ended early, "no cost")."""
    batched_cost_text: str
    streamed_usage: Usage | None
    batched_usage: Usage | None
    same_tokens: Usage | None
    """The usage priced both ways: the streamed reply's final usage, else the batch result's."""
    same_tokens_of: str | None
    """Whose usage `same_tokens` is: "streamed" or "batched"."""
    same_standard: float | None
    same_batch: float | None

    @property
    def saving(self) -> float | None:
        """What the same tokens cost less as a batch."""
        if self.same_standard is None or self.same_batch is None:
            return None
        return self.same_standard - self.same_batch

    @property
    def saving_percent(self) -> float | None:
        if self.saving is None or not self.same_standard:
            return None
        return 100 * self.saving / self.same_standard


def compare(turn: Turn, price: ModelPrice | None) -> Comparison:
    """Each reply priced from its own usage (streamed at standard prices, the batch at 50%), and one
    reply's usage priced both ways."""
    stats = turn.stats
    batch = turn.batch
    answer = batch.answer if batch is not None else None
    batched_usage = answer.usage if answer is not None else None
    streamed_usage = None if stats.received_nothing else stats.usage_for_cost()
    streamed_cost = stats.costs(price)[0]
    batched_cost = None
    if price is not None and batched_usage is not None:
        batched_cost = cost(batched_usage, price, batch=True)
    if batched_cost is not None:
        batched_text = format_cost(batched_cost)
    elif price is None:
        batched_text = format_cost(None)
    else:
        batched_text = "no cost" if answer is not None else "–"
    same_tokens, same_of = None, None
    if stats.exact_usage and stats.usage is not None:
        same_tokens, same_of = stats.usage, "streamed"
    elif batched_usage is not None:
        same_tokens, same_of = batched_usage, "batched"
    same_standard: float | None = None
    same_batch: float | None = None
    if price is not None and same_tokens is not None:
        same_standard, same_batch = cost(same_tokens, price), cost(same_tokens, price, batch=True)
    return Comparison(
        streamed_ttft=stats.ttft,
        streamed_total=stats.total(),
        batched_end_to_end=batch.end_to_end if batch else None,
        streamed_cost=streamed_cost,
        batched_cost=batched_cost,
        streamed_cost_text=format_reply_cost(stats, price),
        batched_cost_text=batched_text,
        streamed_usage=streamed_usage,
        batched_usage=batched_usage,
        same_tokens=same_tokens,
        same_tokens_of=same_of,
        same_standard=same_standard,
        same_batch=same_batch,
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
