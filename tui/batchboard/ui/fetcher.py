"""Results of recent ended batches fetched in the background, one at a time and newest first, so their costs
show without opening them and the results stay here after the API deletes them.

The controller offers every batch after the first successful poll round (never before the first frame),
then each round's changed batches; the batches worth fetching (`core.results.fetch`) join a queue that one
async worker works through, each through the same per-batch ingest worker that opening or ending a batch
uses, so nothing is fetched twice.
A failure is said once, quietly, and that batch is not tried again in this session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from batchboard.core.results.fetch import results_to_fetch
from batchboard.ui import results_actions

if TYPE_CHECKING:
    from batchboard.core.clock import Clock
    from batchboard.core.models import Batch
    from batchboard.core.results.service import ResultsService


class ResultsFetcher:
    """The queue of batches whose results are fetched in the background, and the worker that fetches them."""

    def __init__(
        self,
        app: App[Any],
        service: ResultsService,
        *,
        days: int,
        clock: Clock,
        on_ready: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None:
        self.app = app
        self.service = service
        self.days = days
        """`fetch_results_days`: how recent a batch must be; 0 turns the fetcher off."""
        self.clock = clock
        self.on_ready = on_ready
        """Called with a batch id once its results are indexed (its cost can be shown)."""
        self.on_change = on_change
        """Called when `status` changes."""
        self.pace = 3.0
        """Seconds of pause per second of work: nobody waits for these fetches, so they hold the GIL at most
        a quarter of the time and keystrokes are answered about as fast as when idle."""
        self.queue: list[Batch] = []
        """Batches still to fetch, newest first."""
        self.decided: set[str] = set()
        """Batches already looked at (queued, fetched, failed or here already): never asked about again."""
        self._looked_at_all = False
        self._recheck: set[str] = set()  # ids whose store check failed: looked at again at the next offer
        self.failed: dict[str, str] = {}
        """Batches whose fetch failed in this session, with the reason (said once, not retried)."""
        self.done = 0
        self.total = 0
        """Fetched and to fetch since the queue was last empty (what the status counts)."""
        self.checking = 0
        """Offers whose candidates a thread is still checking against the store."""
        self._wake = asyncio.Event()
        self._worker: Worker[None] | None = None

    @property
    def idle(self) -> bool:
        """Nothing to check, nothing queued and nothing being fetched."""
        return not self.checking and not self.queue and self.done == self.total

    def offer(self, changed: Iterable[Batch], *, known: Mapping[str, Batch]) -> None:
        """A poll round succeeded: queue the batches that qualify and are new to the fetcher. The first
        offer looks at every batch `known` (the book, by id); later ones at the round's `changed` batches
        and those whose check failed last time. A batch only comes to qualify by ending (time only takes
        batches out of the window), so a round costs what it changed, not what the book holds.

        Only the cheap checks run here, on the UI thread; whether a candidate is indexed or unavailable
        asks the store and the disk (about 90 ms for 10,000 batches), so a thread worker does that."""
        if self.days <= 0:
            return
        if self._looked_at_all:
            batches = {b.id: b for b in changed}
            for batch_id in self._recheck:
                if batch_id in known:
                    batches.setdefault(batch_id, known[batch_id])
            self._recheck.clear()
            looking_at: Iterable[Batch] = batches.values()
        else:
            self._looked_at_all = True
            looking_at = known.values()
        candidates = results_to_fetch(
            looking_at,
            now=self.clock.now(),
            days=self.days,
            is_indexed=lambda _: False,
            unavailable_reason=lambda _: None,
            skip=self.decided,
        )
        if not candidates:
            return
        self.decided.update(b.id for b in candidates)  # never asked about again, whatever the check finds
        self.checking += 1
        self.app.run_worker(
            partial(self._check, candidates), thread=True, group="fetch-results-check", exit_on_error=False
        )

    def _check(self, candidates: list[Batch]) -> None:
        """In a thread: keep the candidates whose results are neither here nor unavailable, for `_queue`."""
        service = self.service
        try:
            new = [b for b in candidates if not service.is_indexed(b.id)]
            new = [b for b in new if service.unavailable_reason(b.id) is None]
        except Exception:  # a busy store, a disk error: these are looked at again after the next round
            self.app.call_from_thread(self._queue, [], retry=candidates)
            return
        self.app.call_from_thread(self._queue, new)

    def _queue(self, new: list[Batch], retry: list[Batch] | None = None) -> None:
        self.checking -= 1
        if retry:
            self.decided.difference_update(b.id for b in retry)
            self._recheck.update(b.id for b in retry)
        if not new or not self.app.is_running:
            return  # a check that ends as the app quits starts nothing: its workers are cancelled already
        self.queue.extend(new)
        self.queue.sort(key=lambda b: (b.created_at, b.id), reverse=True)
        self.total += len(new)
        self._show()
        self._wake.set()
        if self._worker is None:
            self._worker = self.app.run_worker(
                self._run(), group="fetch-results", exclusive=True, exit_on_error=False
            )

    async def _run(self) -> None:
        # Until the app quits: its cancel may reach this loop as an ingest worker's WorkerCancelled, which
        # `_fetch` takes, so the loop itself must not start the next batch then.
        while self.app.is_running:
            if not self.queue:
                self.done = self.total = 0
                self._show()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self.queue.pop(0)
            await self._fetch(batch)
            self.done += 1
            self._show()

    async def _fetch(self, batch: Batch) -> None:
        service = self.service
        if service.is_indexed(batch.id):  # opened or ended meanwhile, and fetched that way
            self.on_ready(batch.id)
            return
        problems: list[str] = []
        # Already on its way (the user opened the batch, or it just ended)? That worker is awaited instead.
        worker = results_actions.ingest_in_background(
            self.app, service, batch, on_failed=problems.append, pace=self.pace
        )
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            return  # the app is quitting (or the worker died, which it says itself)
        if service.is_indexed(batch.id):
            self.on_ready(batch.id)
        elif problems:
            self.failed[batch.id] = problems[0]
            self.app.notify(
                problems[0],
                title="Could not fetch results in the background",
                severity="warning",
                timeout=8,
                markup=False,
            )

    @property
    def status(self) -> str | None:
        """What the fetcher is doing, in a few words ("fetching results 2 of 5"); None when idle."""
        if self.total == 0:
            return None
        return f"fetching results {min(self.done + 1, self.total)} of {self.total}"

    def _show(self) -> None:
        self.on_change()
