"""The poll loop against the real emulator: requests per round, no overlap, backoff, staleness, ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.errors import ApiError
from batchboard.core.poller import Poller, PollUpdate
from batchboard.core.store import Store
from batchboard.emulator import Emulator, Fault


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.memory() as s:
        yield s


def populate(emulator: Emulator, clock: ManualClock, ended: int, active: int) -> tuple[list[str], list[str]]:
    """`ended` batches that ended long ago, then `active` newer ones that end in ten minutes."""
    old = clock.now().replace(hour=0)
    ended_ids = [emulator.add_batch(count=50, created_at=old, duration=600) for _ in range(ended)]
    active_ids = [emulator.add_batch(count=50, created_at=clock.now(), duration=600) for _ in range(active)]
    return ended_ids, active_ids


async def test_ended_batches_cost_no_requests(
    api: BatchApi, emulator: Emulator, clock: ManualClock, store: Store
) -> None:
    ended_ids, active_ids = populate(emulator, clock, ended=40, active=3)
    poller = Poller(api, clock=clock, store=store, list_page_size=10, first_page_size=2)
    first = await poller.poll_once()
    assert first.requests == 5  # 43 batches in pages of 10
    assert len(first.changed) == 43 and first.status.ok
    assert first.ended == ()  # first seen already ended: old news, not announced

    # Later rounds: one page for new batches (2 of the 3 active ones are on it) + one retrieve for the
    # third active batch. The 40 ended batches cost nothing.
    emulator.request_log.clear()
    second = await poller.poll_once()
    assert second.requests == 2
    assert second.changed == ()  # nothing moved: nothing reported
    paths = [path for _, path in emulator.request_log]
    assert not any(bid in path for bid in ended_ids for path in paths)

    # Ten minutes later the active batches end; they are reported once, as ends.
    clock.advance(601)
    third = await poller.poll_once()
    assert {b.id for b in third.ended} == set(active_ids)
    assert all(b.is_ended for b in third.changed)
    # ...and from now on a round is a single list request.
    fourth = await poller.poll_once()
    assert fourth.requests == 1 and fourth.changed == () and fourth.ended == ()
    assert len(store.durations()) == 43  # every normally ended batch is a sample for ETAs


async def test_new_batches_are_found_even_beyond_the_first_page(
    api: BatchApi, emulator: Emulator, clock: ManualClock
) -> None:
    populate(emulator, clock, ended=5, active=0)
    poller = Poller(api, clock=clock, first_page_size=2)
    await poller.poll_once()
    clock.advance(1)
    new = [emulator.add_batch(count=5, created_at=clock.now(), duration=60) for _ in range(5)]
    update = await poller.poll_once()
    assert {b.id for b in update.changed} == set(new)
    assert set(new) <= poller.batches.keys()


async def test_rounds_never_overlap(api: BatchApi, emulator: Emulator, clock: ManualClock) -> None:
    populate(emulator, clock, ended=3, active=5)
    in_round = 0
    most = 0
    original = api.retrieve

    async def slow_retrieve(batch_id: str):  # type: ignore[no-untyped-def]
        nonlocal in_round, most
        in_round += 1
        most = max(most, in_round)
        await asyncio.sleep(0.01)
        in_round -= 1
        return await original(batch_id)

    poller = Poller(api, clock=clock, first_page_size=1, concurrency=1)
    await poller.poll_once()
    api.retrieve = slow_retrieve  # type: ignore[method-assign]
    await asyncio.gather(poller.poll_once(), poller.poll_once(), poller.poll_once())
    assert most == 1
    assert poller.rounds == 4


async def test_errors_back_off_report_staleness_and_recover(
    api: BatchApi, emulator: Emulator, clock: ManualClock
) -> None:
    populate(emulator, clock, ended=2, active=2)
    poller = Poller(api, clock=clock, interval=5.0, max_backoff=30.0)
    ok = await poller.poll_once()
    assert ok.status.ok and poller.next_delay() == 5.0
    good_at = clock.now()

    emulator.faults.add(Fault(kind="overloaded", path="/v1/messages/batches", times=4))
    delays = []
    for _ in range(4):
        clock.advance(10)
        update = await poller.poll_once()
        assert not update.status.ok
        assert update.status.stale_since == good_at  # stale since the last good round
        assert update.status.error and "overloaded_error" in update.status.error
        delays.append(poller.next_delay())
    assert delays == [5.0, 10.0, 20.0, 30.0]  # exponential, capped

    clock.advance(10)
    recovered = await poller.poll_once()
    assert recovered.status.ok and recovered.status.stale_since is None
    assert poller.next_delay() == 5.0


async def test_run_loop_sleeps_and_refresh_now_wakes_it(
    api: BatchApi, emulator: Emulator, clock: ManualClock
) -> None:
    populate(emulator, clock, ended=1, active=1)
    updates: list[PollUpdate] = []
    poller = Poller(api, clock=clock, interval=3600.0, on_update=updates.append)
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.wait_for(poller.wait_for_round(1), timeout=10)
        assert poller.rounds == 1
        poller.refresh_now()
        await asyncio.wait_for(poller.wait_for_round(2), timeout=10)
        assert poller.rounds == 2
    finally:
        task.cancel()
    # The first listing reports each page as it arrives, then the round's summary.
    assert [u.complete for u in updates][-2:] == [True, True]
    assert any(not u.complete and u.changed for u in updates)


async def test_unexpected_exceptions_do_not_end_the_loop(clock: ManualClock) -> None:
    class Broken(BatchApi):
        def __init__(self) -> None:
            self.requests_made = 0

        async def list_page(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise ValueError("boom")

    poller = Poller(Broken(), clock=clock)
    update = await poller.poll_once()
    assert not update.status.ok and "ValueError: boom" in (update.status.error or "")


async def test_a_deleted_batch_is_dropped_not_an_error(
    api: BatchApi, emulator: Emulator, clock: ManualClock
) -> None:
    _, active = populate(emulator, clock, ended=0, active=3)
    poller = Poller(api, clock=clock, first_page_size=1)
    await poller.poll_once()
    original = api.retrieve

    async def gone(batch_id: str):  # type: ignore[no-untyped-def]
        if batch_id == active[0]:
            raise ApiError("HTTP 404 not_found_error", status=404)
        return await original(batch_id)

    api.retrieve = gone  # type: ignore[method-assign]
    update = await poller.poll_once()
    assert update.status.ok and update.removed == (active[0],)
    assert active[0] not in poller.batches


class FlakyStore(Store):
    """A store that fails once where asked, and notes which threads it was called on."""

    def __init__(self, fail_in: str) -> None:
        import sqlite3

        super().__init__(sqlite3.connect(":memory:", check_same_thread=False), None)
        self.fail_in = fail_in
        self.threads: set[int] = set()
        self.end_queries = 0

    def _called(self, name: str) -> None:
        import sqlite3
        import threading

        self.threads.add(threading.get_ident())
        if self.fail_in == name:
            self.fail_in = ""
            raise sqlite3.OperationalError("database is locked")

    def record_batches(self, batches, now=None):  # type: ignore[no-untyped-def]
        self._called("record_batches")
        return super().record_batches(batches, now)

    def end_notified_ids(self) -> set[str]:
        self.end_queries += 1
        self._called("end_notified_ids")
        return super().end_notified_ids()


@pytest.mark.parametrize("fail_in", ["record_batches", "end_notified_ids"])
async def test_a_store_error_makes_the_round_stale_and_the_loop_goes_on(
    api: BatchApi, emulator: Emulator, clock: ManualClock, fail_in: str
) -> None:
    import threading

    populate(emulator, clock, ended=5, active=2)
    store = FlakyStore(fail_in)
    poller = Poller(api, clock=clock, store=store, list_page_size=2, interval=0.01)
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.wait_for(poller.wait_for_round(1), 10)
        first = poller.status
        assert not first.ok and first.error is not None
        assert "OperationalError: database is locked" in first.error
        assert first.retry_in is not None  # backing off, not ended
        await asyncio.wait_for(poller.wait_for_round(3), 10)
        assert poller.status.ok and not task.done()  # the loop recovered by itself
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert threading.get_ident() not in store.threads  # the store never ran on the event loop
    store.close()


async def test_end_notifications_are_looked_up_once_per_round_not_per_page(
    api: BatchApi, emulator: Emulator, clock: ManualClock
) -> None:
    populate(emulator, clock, ended=9, active=1)
    store = FlakyStore("")
    poller = Poller(api, clock=clock, store=store, list_page_size=2)  # five pages
    await poller.poll_once()
    assert store.end_queries == 1
    store.close()


async def test_a_saved_view_starts_with_a_quick_round_then_one_sweep_for_deletions(
    api: BatchApi, emulator: Emulator, clock: ManualClock, store: Store
) -> None:
    from batchboard.core.store import Account

    ended_ids, active_ids = populate(emulator, clock, ended=30, active=2)
    store.use_account(Account.of("default", None))
    first_run = Poller(api, clock=clock, store=store, list_page_size=10, first_page_size=5)
    await first_run.poll_once()
    # While the app was closed: an ended and an active batch are deleted, one is created, time passes.
    emulator.store.delete(ended_ids[3], clock.now())
    emulator.store.get(active_ids[0]).deleted = True  # as if canceled, ended and deleted elsewhere
    new = emulator.add_batch(count=5, created_at=clock.now(), duration=600)
    clock.advance(60)

    saved = store.saved_batches()
    assert len(saved) == 32
    poller = Poller(api, clock=clock, store=store, list_page_size=10, first_page_size=5)
    poller.seed(saved)
    emulator.request_log.clear()
    quick = await poller.poll_once()
    paths = [path for _, path in emulator.request_log]
    # One page of new batches (the new one and the 4 newest known), no retrieve of anything ended.
    assert not any(bid in path for bid in ended_ids for path in paths)
    assert quick.requests == 2 and {b.id for b in quick.changed} >= {new}
    assert quick.removed == (active_ids[0],)  # an active batch retrieved: 404, gone

    sweep = await poller.poll_once()  # the one full listing of this start
    assert sweep.removed == (ended_ids[3],)
    assert sweep.requests == 4 and sweep.changed == ()  # 31 batches in pages of 10; nothing else moved
    assert {b.id for b in store.saved_batches()} == set(poller.batches)
    later = await poller.poll_once()
    assert later.requests == 1 and later.removed == ()
