"""The one long-lived poll loop behind the dashboard.

The first round lists every batch (auto-paginated). Each later round re-lists the first page for new
batches and retrieves only the batches that have not ended: an ended batch never changes again, so it
costs no request. Rounds never overlap (one loop, plus a lock for callers that step it by hand); a
failed round backs off exponentially up to a cap and reports since when and why the data is stale;
the loop recovers by itself. `refresh_now()` wakes it early.

Started from a saved view (`seed`, the batches the local store knew when the app last ran), the first
round is a quick one: the newest pages until one holds a batch already known (new batches), and a
retrieve for each saved batch that had not ended; the saved ended batches cost nothing. Deletions are
the one thing that needs a listing: the API has no "does this still exist" for many ids, so the second
round lists everything once per start (the sweep), and a batch known before it that is not listed is
removed (the store forgets it). From then on, rounds are as usual.

Each round reports only the batches that changed, plus the ones that ended since we last saw them,
through a plain callback: the UI turns it into a coalescing message. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from batchboard.core.clock import Clock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.errors import ApiError
from batchboard.core.models import Batch


class PollStore(Protocol):
    """What the poller needs from the local store (batchboard.core.store.Store provides it)."""

    def record_batches(self, batches: Iterable[Batch], now: datetime | None = None) -> None: ...

    def end_notified_ids(self) -> set[str]: ...

    def forget_batches(self, batch_ids: Iterable[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class PollStatus:
    """How fresh the data is. `stale_since` is set while rounds are failing."""

    ok: bool = True
    last_success: datetime | None = None
    stale_since: datetime | None = None
    error: str | None = None
    failures: int = 0
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class PollUpdate:
    """What one round (or one page of the first round) found."""

    changed: tuple[Batch, ...] = ()
    #: Batches that went from active to ended since we last saw them (including while the app was
    #: closed) and that the user has not been told about yet.
    ended: tuple[Batch, ...] = ()
    removed: tuple[str, ...] = ()
    status: PollStatus = field(default_factory=PollStatus)
    round: int = 0
    #: False for the page-by-page updates of the first listing; True once a round has finished.
    complete: bool = True
    #: API calls this round made.
    requests: int = 0


UpdateCallback = Callable[[PollUpdate], None]


class Poller:
    """Keeps `batches` (id → Batch) current. Run `run()` in one async worker; or step `poll_once()`."""

    def __init__(
        self,
        api: BatchApi,
        *,
        clock: Clock,
        store: PollStore | None = None,
        on_update: UpdateCallback | None = None,
        interval: float = 5.0,
        max_backoff: float = 120.0,
        list_page_size: int = 1000,
        first_page_size: int = 100,
        concurrency: int = 8,
    ) -> None:
        self.api = api
        self.clock = clock
        self.store = store
        self.on_update = on_update
        self.interval = interval
        self.max_backoff = max_backoff
        self.list_page_size = list_page_size
        self.first_page_size = first_page_size
        self.concurrency = concurrency
        self.batches: dict[str, Batch] = {}
        self.status = PollStatus()
        self.rounds = 0
        self.listed_all = False
        #: Started from a saved view: the first round is quick and the second is the deletion sweep.
        self.seeded = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._round_done = asyncio.Condition()

    # -- driving ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll forever: a round, then sleep (or back off), until cancelled."""
        while True:
            await self.poll_once()
            await self._sleep(self.next_delay())

    def refresh_now(self) -> None:
        """Wake the loop now instead of at the end of its sleep."""
        self._wake.set()

    def next_delay(self) -> float:
        return self._backoff(self.status.failures)

    def _backoff(self, failures: int) -> float:
        if failures == 0:
            return self.interval
        return min(self.max_backoff, self.interval * 2 ** (failures - 1))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def wait_for_round(self, round_number: int) -> None:
        """Return once round `round_number` has finished (tests and benchmarks step with this)."""
        async with self._round_done:
            await self._round_done.wait_for(lambda: self.rounds >= round_number)

    def seed(self, batches: Iterable[Batch]) -> None:
        """Start from the batches the store saved (before the first round): ended ones are final and
        cost no request; the others are retrieved by the first round."""
        for batch in batches:
            self.batches.setdefault(batch.id, batch)
        self.seeded = bool(self.batches)

    def observe(self, batch: Batch) -> None:
        """Take a batch the app got some other way (the answer to a cancel) as the latest known."""
        self.batches[batch.id] = batch

    # -- one round -------------------------------------------------------------------------------

    async def poll_once(self) -> PollUpdate:
        """Run one round; never two at once."""
        async with self._lock:
            self._wake.clear()
            requests_before = self.api.requests_made
            changed: dict[str, Batch] = {}
            ended: dict[str, Batch] = {}
            removed: list[str] = []
            error: ApiError | None = None
            first_round = not self.listed_all
            news: tuple[Batch, ...] = ()
            try:
                if first_round and self.seeded and self.rounds == 0:
                    await self._refresh(changed, ended, removed)
                elif first_round:
                    await self._list_everything(changed, ended, removed)
                else:
                    await self._refresh(changed, ended, removed)
                news = await self._unnotified(ended)
                if removed and self.store is not None:
                    await asyncio.to_thread(self.store.forget_batches, removed)
            except ApiError as exc:
                error = exc
            except Exception as exc:  # a bug, an unexpected reply or a store error must not end the loop
                error = ApiError(f"Unexpected error: {type(exc).__name__}: {exc}", error_type="unexpected")
            self.rounds += 1
            self._set_status(error)
            update = PollUpdate(
                changed=tuple(changed.values()),
                ended=news,
                removed=tuple(removed),
                status=self.status,
                round=self.rounds,
                complete=True,
                requests=self.api.requests_made - requests_before,
            )
            try:
                self._emit(update)
            except Exception as exc:  # the receiver failed: stale (and back off) until a round goes through
                self._set_status(
                    ApiError(f"Unexpected error: {type(exc).__name__}: {exc}", error_type="unexpected")
                )
        async with self._round_done:
            self._round_done.notify_all()
        return update

    def _set_status(self, error: ApiError | None) -> None:
        now = self.clock.now()
        if error is None:
            self.status = PollStatus(ok=True, last_success=now)
            return
        failures = self.status.failures + 1
        self.status = PollStatus(
            ok=False,
            last_success=self.status.last_success,
            stale_since=self.status.stale_since or self.status.last_success or now,
            error=error.message,
            failures=failures,
            retry_in=self._backoff(failures),
        )

    async def _list_everything(
        self, changed: dict[str, Batch], ended: dict[str, Batch], removed: list[str]
    ) -> None:
        # Known before the listing began and not listed: deleted. A batch observed meanwhile (just
        # submitted) was not known before, so it is never taken for a deleted one.
        unlisted = set(self.batches)
        async for page in self.api.list_all(page_size=self.list_page_size):
            page_changed: dict[str, Batch] = {}
            for batch in page.batches:
                unlisted.discard(batch.id)
                self._take(batch, page_changed, ended)
            changed.update(page_changed)
            await self._persist(page_changed.values(), ended)
            # The first listing of 10,000 batches takes a few pages: show each as it arrives.
            self._emit(
                PollUpdate(
                    changed=tuple(page_changed.values()),
                    status=self.status,
                    round=self.rounds,
                    complete=False,
                )
            )
        self._remove(unlisted, removed)
        self.listed_all = True

    async def _refresh(self, changed: dict[str, Batch], ended: dict[str, Batch], removed: list[str]) -> None:
        seen: set[str] = set()
        after_id: str | None = None
        # New batches appear on the first page; keep paging only while a whole page is new.
        while True:
            page = await self.api.list_page(limit=self.first_page_size, after_id=after_id)
            all_new = bool(page.batches)
            for batch in page.batches:
                all_new = all_new and batch.id not in self.batches
                seen.add(batch.id)
                self._take(batch, changed, ended)
            if not (all_new and page.has_more and page.last_id):
                break
            after_id = page.last_id

        pending = [bid for bid, b in self.batches.items() if b.is_active and bid not in seen]
        semaphore = asyncio.Semaphore(self.concurrency)

        async def fetch(batch_id: str) -> tuple[str, Batch | ApiError]:
            async with semaphore:
                try:
                    return batch_id, await self.api.retrieve(batch_id)
                except ApiError as exc:
                    return batch_id, exc

        results = await asyncio.gather(*(fetch(bid) for bid in pending))
        first_error: ApiError | None = None
        gone: list[str] = []
        for batch_id, result in results:
            if isinstance(result, Batch):
                self._take(result, changed, ended)
            elif result.is_not_found:
                gone.append(batch_id)  # deleted elsewhere: drop it rather than fail every round
            elif first_error is None:
                first_error = result
        self._remove(gone, removed)
        await self._persist(changed.values(), ended)
        if first_error is not None:
            raise first_error

    def _remove(self, batch_ids: Iterable[str], removed: list[str]) -> None:
        for batch_id in batch_ids:
            if self.batches.pop(batch_id, None) is not None:
                removed.append(batch_id)

    def _take(self, batch: Batch, changed: dict[str, Batch], ended: dict[str, Batch]) -> None:
        previous = self.batches.get(batch.id)
        if previous == batch:
            return
        self.batches[batch.id] = batch
        changed[batch.id] = batch
        if batch.is_ended and self.store is None and previous is not None and previous.is_active:
            ended[batch.id] = batch

    async def _persist(self, batches: Iterable[Batch], ended: dict[str, Batch]) -> None:
        """Upsert what changed (in a thread: never on the event loop); the store keeps durations (for
        ETA) and decides which ends are news: a batch ended since we last looked (even while the app was
        closed), not one first seen ended. Ended batches are candidates; `_unnotified` sorts them out
        once per round."""
        if self.store is None:
            return
        batches = list(batches)
        if not batches:
            return
        await asyncio.to_thread(self.store.record_batches, batches, now=self.clock.now())
        ended.update((b.id, b) for b in batches if b.is_ended)

    async def _unnotified(self, ended: dict[str, Batch]) -> tuple[Batch, ...]:
        """Ends not announced yet (the caller announces them and calls `store.mark_end_notified`)."""
        if not ended or self.store is None:
            return tuple(ended.values())
        told = await asyncio.to_thread(self.store.end_notified_ids)
        return tuple(b for b in ended.values() if b.id not in told)

    def _emit(self, update: PollUpdate) -> None:
        if self.on_update is not None:
            self.on_update(update)
