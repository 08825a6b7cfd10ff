"""Waiting for batches to end, for scripts (`batchboard wait`, `submit --wait`): poll through the SDK's
async client every poll_interval, back off on errors as the dashboard's poller does, and say how they ended
as an exit status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from batchboard.core.clock import Clock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.errors import ApiError
from batchboard.core.models import Batch

#: Exit statuses of a wait: every request succeeded; some errored; some canceled or expired, or the
#: wait timed out (the batch may still end well later).
ALL_SUCCEEDED = 0
SOME_ERRORED = 1
CANCELED_EXPIRED_OR_TIMEOUT = 2


@dataclass
class WaitResult:
    batches: list[Batch]
    """The latest state of each batch, in the order asked."""
    timed_out: bool

    @property
    def exit_status(self) -> int:
        if self.timed_out or any(b.counts.canceled or b.counts.expired for b in self.batches):
            return CANCELED_EXPIRED_OR_TIMEOUT
        if any(b.counts.errored for b in self.batches):
            return SOME_ERRORED
        return ALL_SUCCEEDED


class UnknownBatch(Exception):
    """The API has no batch with this id (HTTP 404)."""


async def wait_for(
    api: BatchApi,
    batch_ids: Sequence[str],
    *,
    interval: float,
    clock: Clock,
    give_up_after: float | None = None,
    max_backoff: float = 120.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_round: Callable[[list[Batch], ApiError | None], None] | None = None,
) -> WaitResult:
    """Until every batch in `batch_ids` has ended, or `give_up_after` seconds of `clock` have passed. An API
    error is retried after `interval` doubled per failure in a row (at most `max_backoff`); an unknown id
    raises UnknownBatch at once. `on_round` sees each round's states (and its error, if any)."""
    started = clock.now()
    latest: dict[str, Batch] = {}
    failures = 0
    while True:
        error: ApiError | None = None
        for batch_id in batch_ids:
            if batch_id in latest and latest[batch_id].is_ended:
                continue
            try:
                latest[batch_id] = await api.retrieve(batch_id)
            except ApiError as exc:
                if exc.status == 404:
                    raise UnknownBatch(f"could not look up batch {batch_id}: {exc.message}") from exc
                error = exc
                break
        failures = failures + 1 if error is not None else 0
        if on_round is not None:
            on_round([latest[b] for b in batch_ids if b in latest], error)
        if error is None and all(latest[b].is_ended for b in batch_ids):
            return WaitResult([latest[b] for b in batch_ids], timed_out=False)
        delay = interval if failures == 0 else min(max_backoff, interval * 2 ** (failures - 1))
        if give_up_after is not None:
            left = give_up_after - (clock.now() - started).total_seconds()
            if left <= 0:
                return WaitResult([latest[b] for b in batch_ids if b in latest], timed_out=True)
            delay = min(delay, left)
        await sleep(delay)
