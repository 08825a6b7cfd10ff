"""The app's controller: the connection, the poll loop, the batch actions and the background work that every
screen shares. Screens ask it by method (`request_cancel`, `open_detail`, `why_not`…); it tells the screens
that show batches (`BatchView`) what changed.

A plain object, not a widget: it draws nothing and has no place in the DOM. Its workers run on the App
(`app.run_worker(..., exit_on_error=False)`), so they live as long as the app, not as long as a screen, and
threads reach the UI through `app.call_from_thread`. Poll updates are merged in `PendingChanges` and
announced with one coalescing `BatchesUpdated` message to the dashboard (the App if there is none), which
hands it back here (`apply_updates`): a busy UI applies only the latest state. Views are then told
synchronously, in the same call that changes the book, so a table never holds, even for a moment, a row
the book has dropped (a view not yet mounted is told first thing once it is, before it draws).

Cheap to import (it is on the start-up path): the SDK, the poller, the results modules and the screens it
opens are imported when first needed, never at module level.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Collection, Sequence, Set
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from batchboard.core import format as fmt
from batchboard.core.models import Batch, Outcome
from batchboard.ui.book import BatchBook
from batchboard.ui.cells import end_summary
from batchboard.ui.messages import BatchesUpdated, PendingChanges

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

    from batchboard.core.config import Settings
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import AsyncAnthropic
    from batchboard.core.poller import Poller, PollStatus, PollUpdate
    from batchboard.core.results.service import ResultsService
    from batchboard.core.submit.attach import LocalSources
    from batchboard.ui.fetcher import ResultsFetcher
    from batchboard.ui.screens.submit import RecoveryNotice

#: Builds a connected BatchApi. Called in a thread: it imports the SDK (about two seconds).
Connect = Callable[[], "BatchApi"]

SEVERITY = {
    Outcome.SUCCEEDED: "information",
    Outcome.PARTIAL: "warning",
    Outcome.EXPIRED: "warning",
    Outcome.CANCELED: "information",
    Outcome.FAILED: "error",
}

NO_BATCH = "no batch is selected"

#: Actions that need the API, and what to say when they are asked for before it is connected. Not queued:
#: a cancel or retry chosen on a saved row, possibly out of date, must not run later by itself.
NEEDS_API = {
    "cancel_batch": "the cancel will be offered once connected",
    "retry": "the retry will be offered once connected",
    "submit": "submitting will be offered once connected",
    "refresh": "the first refresh runs as soon as it is connected",
}


@runtime_checkable
class BatchView(Protocol):
    """A screen that shows batches: the controller tells it what changed, in the call that changed it."""

    def batches_changed(self, changed: Sequence[Batch], removed: Set[str]) -> None:
        """Batches changed state (or their cost) or were removed; the book already holds the new state."""

    def labels_changed(self, batch_ids: Collection[str]) -> None:
        """These batches' labels changed (the book holds them)."""

    def state_changed(self) -> None:
        """Something else changed: the connection, the poll status, background work, or which keys
        apply (`why_not`)."""


class Controller:
    """Owns the book, the API once connected, the poller, the results fetcher and the local sources."""

    def __init__(
        self,
        app: App[Any],
        *,
        book: BatchBook,
        settings: Settings,
        connect: Connect,
        demo: bool = False,
        demo_connect: Connect | None = None,
    ) -> None:
        self.app = app
        self.book = book
        self.settings = settings
        self.connect_api = connect
        self.demo = demo
        self.demo_connect = demo_connect
        self.api: BatchApi | None = None
        self.poller: Poller | None = None
        self.fetcher: ResultsFetcher | None = None
        """Fetches recent ended batches' results in the background; made when polling starts."""
        self.sources: LocalSources | None = None
        """Which batches batchboard holds the requests of, and their retries; read in a thread."""
        self.connect_message = "connecting…"
        """What the header says until the first connection (why it failed, if it did)."""
        self._pending = PendingChanges()
        self._canceling: dict[str, Batch] = {}  # optimistic rows while a cancel is on its way
        self._was_stale = False

    @property
    def store(self) -> Any:
        return self.book.store

    @property
    def clock(self) -> Any:
        return self.book.clock

    @property
    def results(self) -> ResultsService | None:
        """The results service: costs, the index, downloads (which need the connection). None until
        connected when the app was not given one read before the first frame."""
        service: ResultsService | None = self.book.results
        return service

    def client(self) -> AsyncAnthropic | None:
        """The connected SDK client (None while connecting)."""
        return self.api.client if self.api is not None else None

    # -- the views ---------------------------------------------------------------------------------

    def _tell_views(self, tell: Callable[[BatchView], object]) -> None:
        """Tell each view, bottom first. One pushed but not yet mounted (a poll round can land between the
        push and its compose) is told from its own queue, which Textual starts once it is mounted: it draws
        into widgets its compose makes, and the change must still reach it."""
        for screen in self.app.screen_stack:
            if not isinstance(screen, BatchView):
                continue
            if screen.is_mounted:
                tell(screen)
            else:
                screen.call_later(tell, screen)

    def _state_changed(self) -> None:
        self._tell_views(lambda view: view.state_changed())

    def _labels_changed(self, batch_ids: Collection[str]) -> None:
        self._tell_views(lambda view: view.labels_changed(batch_ids))

    # -- connecting and polling --------------------------------------------------------------------

    def connect(self) -> None:
        """Import the SDK and build the client in a thread worker (it takes about two seconds), then poll."""
        self.app.run_worker(self._connect, thread=True, exclusive=True, group="connect", exit_on_error=False)

    def _connect(self) -> None:
        from batchboard.core.gateway.client import MissingApiKeyError

        try:
            api = self.connect_api()
            # Heavy UI modules used once connected: load them here too, off the main thread.
            import batchboard.ui.results_actions  # noqa: F401
        except MissingApiKeyError as exc:
            self.app.call_from_thread(self._no_key, str(exc))
            return
        except Exception as exc:
            self.app.call_from_thread(self._connect_failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.start_polling, api)

    def _no_key(self, message: str) -> None:
        from batchboard.ui.screens.no_key import NoKeyScreen

        self.app.push_screen(NoKeyScreen(message))

    def _connect_failed(self, reason: str) -> None:
        self.connect_message = f"could not connect: {reason}"
        self._state_changed()
        self.app.notify(reason, title="Could not connect", severity="error", markup=False)

    def waits_for_connection(self, action: str) -> bool:
        """`action` needs the API and it is not connected yet (its key stays offered and says so)."""
        return self.api is None and action in NEEDS_API

    def remember_cursor(self) -> None:
        """On quit: the batch the cursor is on, for the next start's saved view (best effort: a store
        locked by another batchboard must not hold up or break quitting)."""
        with contextlib.suppress(sqlite3.Error):
            self.store.save_selected(self.book.saved_selection)

    @property
    def can_open_demo(self) -> bool:
        return self.demo_connect is not None and not self.demo

    def open_demo(self) -> None:
        """From the no-key screen: start over on the built-in emulator."""
        if self.demo_connect is None:
            return
        self.connect_api = self.demo_connect
        self.demo = True
        self._state_changed()
        self.connect()

    def start_polling(self, api: BatchApi) -> None:
        """Start the one poll loop on `api` (also used by tests and benchmarks with a prepared api)."""
        # Imported after the first frame, not before: the first paint must not wait for them.
        from batchboard.core.poller import Poller
        from batchboard.ui import results_actions
        from batchboard.ui.fetcher import ResultsFetcher

        self.api = api
        service = self.results
        if service is None:
            service = results_actions.make_results_service(
                self.store, self.settings, self.clock, lambda: self.api
            )
            self.book.results = service
        else:  # read before the first frame (the saved view's costs): it downloads from now on
            service.client_factory = results_actions.sync_clients(lambda: self.api)
        # An older database's result items move to per-batch files once: slow, so in a thread, now.
        self.app.run_worker(
            self._prepare_results, thread=True, group="results-migrate", exclusive=True, exit_on_error=False
        )
        self.fetcher = ResultsFetcher(
            self.app,
            service,
            days=self.settings.fetch_results_days,
            clock=self.clock,
            on_ready=self.results_ready,
            on_change=self._state_changed,
        )
        self.poller = Poller(
            api,
            clock=self.clock,
            store=self.store,
            on_update=self.on_poll_update,
            interval=self.settings.poll_interval,
        )
        if self.book.saved_at is not None:
            self.poller.seed(self.book.batches.values())  # saved ended batches cost no request
        self.book.connected = True
        self._state_changed()
        self.app.run_worker(self.poller.run(), group="poll", exclusive=True, exit_on_error=False)
        self.reconcile_submissions(api)

    async def close(self) -> None:
        """Close the HTTP client on the app's loop, not at garbage collection after the loop is gone."""
        if self.api is not None:
            await self.api.close()

    def refresh(self) -> None:
        """`r`: poll now."""
        if self._refused("refresh", None):
            return
        if self.poller is not None:
            self.poller.refresh_now()
            self.app.notify("Refreshing…", timeout=1.5)

    def reconcile_submissions(self, api: BatchApi) -> None:
        """Resolve submissions whose create answer was lost before a crash, in a thread with its own loop
        and HTTP connections (the app's client belongs to the UI loop). Says what it found."""
        self.app.run_worker(
            partial(self._reconcile, api), thread=True, exclusive=True, group="reconcile", exit_on_error=False
        )

    def _reconcile(self, api: BatchApi) -> None:
        import asyncio

        from batchboard.core.submit.recovery import needs_attention

        store = self.store
        if not needs_attention(store):
            return  # nothing left half-sent, undecided or unverified: no request at all
        from batchboard.ui.screens.submit import reconcile_on_start

        def ensure_results(batch_id: str) -> None:  # a recovered batch that ended: its results, to check it
            batch = self.book.batches.get(batch_id)
            if batch is not None and batch.is_ended and self.results is not None:
                self.results.ensure(batch)

        async def run() -> list[RecoveryNotice]:
            client = api.detached_client()
            try:
                return await reconcile_on_start(store, client, self.clock, ensure_results)
            finally:
                await client.close()

        try:
            notices = asyncio.run(run())
        except Exception as exc:
            self.app.call_from_thread(self._reconcile_failed, f"{type(exc).__name__}: {exc}")
            return
        if notices:
            self.app.call_from_thread(self.recovered, notices)

    def _reconcile_failed(self, reason: str) -> None:
        self.app.notify(
            reason, title="Could not check unconfirmed submissions", severity="warning", markup=False
        )

    # -- poll updates ------------------------------------------------------------------------------

    def on_poll_update(self, update: PollUpdate) -> None:
        """The poller's callback (on the UI loop): merge, and say once that there is something to apply."""
        self._pending.add(update)
        # To the bottom view (the dashboard), which asks `apply_updates`: a screen's queue is what Textual
        # (and a Pilot's pause) waits on, so an update is drawn in the same turn as before the move here.
        views = [screen for screen in self.app.screen_stack if isinstance(screen, BatchView)]
        target: MessagePump = views[0] if views else self.app
        target.post_message(BatchesUpdated())

    def apply_updates(self) -> None:
        """Apply every poll update merged since the last call (the App calls it on `BatchesUpdated`)."""
        pending = self._pending.take()
        if any(batch_id not in self.book.batches for batch_id in pending.changed):
            self.load_sources()  # new batches: sent from here, by another batchboard, or elsewhere
        changed = [self._keep_optimistic(b) for b in pending.changed.values()]
        if changed or pending.removed:
            self.show_batches(changed, pending.removed)
        if pending.removed:
            self._say_removed(sorted(pending.removed))
        for batch in pending.ended.values():
            self._announce_end(batch)
        if pending.status is not None:
            self._show_status(pending.status)
            if pending.status.ok and self.fetcher is not None:
                self.fetcher.offer(pending.changed.values(), known=self.book.batches)

    def _say_removed(self, batch_ids: list[str]) -> None:
        names = ", ".join(fmt.short_id(bid) for bid in batch_ids[:3])
        more = f" and {len(batch_ids) - 3} more" if len(batch_ids) > 3 else ""
        what = "1 batch is" if len(batch_ids) == 1 else f"{len(batch_ids)} batches are"
        self.app.notify(
            f"{what} no longer on the service (deleted elsewhere) and left the table: {names}{more}",
            title="Batches removed",
            markup=False,
        )

    def _keep_optimistic(self, batch: Batch) -> Batch:
        optimistic = self._canceling.get(batch.id)
        if optimistic is None:
            return batch
        if batch.processing_status == "in_progress":
            return optimistic  # a round that started before the cancel: keep showing `canceling`
        del self._canceling[batch.id]
        return batch

    def show_batches(self, changed: Sequence[Batch], removed: Set[str] = frozenset()) -> None:
        """Put batches into the book and tell the views, in one go."""
        for batch in changed:
            self.book.apply(batch)
        for batch_id in removed:
            self.book.remove(batch_id)
        self._tell_views(lambda view: view.batches_changed(changed, removed))

    def _show_status(self, status: PollStatus) -> None:
        self.book.status = status
        if not status.ok and not self._was_stale:
            self.app.notify(
                status.error or "unknown error",
                title="Could not refresh: data is stale",
                severity="warning",
                markup=False,
            )
        elif status.ok and self._was_stale:
            self.app.notify("Back in touch with the API.", title="Refreshed")
        self._was_stale = not status.ok
        self._state_changed()

    def _announce_end(self, batch: Batch) -> None:
        label = self.book.label(batch.id)
        name = f"{label} ({fmt.short_id(batch.id)})" if label else batch.id
        self.app.notify(
            f"{name} ended, {end_summary(batch)}",
            title="Batch ended",
            severity=SEVERITY.get(batch.outcome, "information"),  # type: ignore[arg-type]
            timeout=10,
            markup=False,
        )
        store, now = self.store, self.clock.now()
        self.write_store(
            "that this batch's end was announced", lambda: store.mark_end_notified(batch.id, now=now)
        )
        self.ingest(batch)

    # -- background work ---------------------------------------------------------------------------

    def write_store(self, what: str, write: Callable[[], object]) -> None:
        """Store writes run off the UI thread: another batchboard process (a CLI submit) may hold the
        database's write lock for a while, and a locked database must not freeze or end the app."""
        self.app.run_worker(
            partial(self._write, what, write), thread=True, group="store", exit_on_error=False
        )

    def _write(self, what: str, write: Callable[[], object]) -> None:
        try:
            write()
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self.app.notify,
                f"Could not save {what} in the local store ({exc}). It is kept for this session; "
                "if another batchboard command is running, it will work again once that finishes.",
                title="Local store busy",
                severity="warning",
                markup=False,
            )

    def _prepare_results(self) -> None:
        service = self.results
        if service is None:
            return
        try:
            service.prepare()
        except Exception as exc:  # a locked or full disk: said once; each later use tries again
            self.app.call_from_thread(
                self.app.notify,
                f"Could not move older results to their new files: {type(exc).__name__}: {exc}",
                title="Results database",
                severity="warning",
                markup=False,
            )

    def ingest(self, batch: Batch) -> None:
        """Fetch and index an ended batch's results in a thread worker (once: a running one is reused)."""
        if self.results is None:
            return
        from batchboard.ui import results_actions

        results_actions.ingest_in_background(self.app, self.results, batch, on_done=self.results_ready)

    def fetch_when_viewed(self, batch_id: str) -> None:
        """The user opened an ended batch: fetch its results (at full speed) unless they are here."""
        if self.api is None:
            return  # not connected yet: nothing can be fetched
        from batchboard.ui import results_actions

        batch = self.book.batches.get(batch_id)
        results_actions.fetch_when_viewed(self.app, self.results, batch, on_done=self.results_ready)

    def results_ready(self, batch_id: str) -> None:
        """A batch's results were indexed: its cost cells and the header totals can be filled."""
        batch = self.book.batches.get(batch_id)
        if batch is not None:
            self.show_batches([batch])
        self.app.run_worker(
            partial(self._verify_recovered, batch_id), thread=True, group="verify", exit_on_error=False
        )

    def _verify_recovered(self, batch_id: str) -> None:
        """A recovered batch's results are here: check its custom_ids against its submission's."""
        from batchboard.ui.screens.submit import verify_after_results

        notices = verify_after_results(self.store, batch_id)
        if notices:
            self.app.call_from_thread(self.recovered, notices)

    def load_sources(self) -> None:
        """Which batches batchboard holds the requests of (`a` is for the others) and which were retried
        (`J`), off the UI thread: the store may be busy with results ingestion."""
        self.app.run_worker(
            self._load_sources, thread=True, exclusive=True, group="sources", exit_on_error=False
        )

    def _load_sources(self) -> None:
        from batchboard.core.submit.attach import local_sources

        try:
            sources = local_sources(self.store)
        except sqlite3.Error:
            return  # the keys stay as they were; the next new batch reads them again
        self.app.call_from_thread(self._sources_loaded, sources)

    def _sources_loaded(self, sources: LocalSources) -> None:
        self.sources = sources
        self._state_changed()

    # -- what applies ------------------------------------------------------------------------------

    def why_not(self, action: str, batch_id: str | None) -> str | None:
        """Why a batch action does not apply to `batch_id` now, in a few words; None when it does.

        The one rule behind the footer (`check_action`), the help, the command palette and the key
        itself. `action` is the screens' action name; actions that are not batch actions always apply."""
        reason = self._rule(action, batch_id)
        if reason is None and self.waits_for_connection(action):
            return f"connecting… {NEEDS_API[action]}"
        return reason

    def _rule(self, action: str, batch_id: str | None) -> str | None:
        """`why_not` apart from the connection: core's rules on the batch, and what batchboard knows."""
        if action not in BATCH_ACTIONS:
            return None
        batch = self.book.batches.get(batch_id) if batch_id else None
        if batch is None:
            return NO_BATCH
        if action == "cancel_batch":
            if batch.processing_status == "canceling":
                return "this batch is being canceled already"
            return None if batch.can_cancel else "only a batch in progress can be canceled"
        if action in ("problems", "download"):
            return None if batch.is_ended else "results come when the batch ends"
        if action == "retry":
            if not batch.is_ended:
                return "only an ended batch can be retried"
            if batch.can_retry_with(sum(self.book.unusable(batch.id).values())):
                return None
            if batch.counts.succeeded and (self.results is None or self.results.cost(batch.id) is None):
                return "no failed items (unusable answers are counted once its results are here)"
            return "no failed or unusable items in this batch"
        if action == "attach":  # until the sources are read: offered (the screen says if it is not)
            if self.sources is None or self.sources.can_attach(batch.id):
                return None
            return "batchboard sent this batch: its requests are stored already"
        if action == "job":  # a batch with retries, or a retry
            if self.sources is None:
                return "still reading which batches have retries"
            return None if self.sources.in_job(batch.id) else "this batch has no retries"
        return None  # set_label: any batch

    def _refused(self, action: str, batch_id: str | None) -> bool:
        """Say why `action` does not apply (as a notification); True if it does not."""
        reason = self.why_not(action, batch_id)
        if reason is None:
            return False
        if self.waits_for_connection(action):
            self.app.notify(f"Connecting… {NEEDS_API[action]}.", title="Not connected yet", timeout=4)
        else:
            self.app.notify(reason[0].upper() + reason[1:] + ".", severity="warning", markup=False)
        return True

    # -- batch actions -----------------------------------------------------------------------------

    def open_detail(self, batch_id: str) -> None:
        # Imported when first needed: the detail screen pulls in the results modules, which the first
        # frame must not wait for.
        from batchboard.ui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self, batch_id))

    def open_problems(self, batch_id: str) -> None:
        """`e`: the batch's results by group (downloading them first if needed)."""
        batch = self.book.batches.get(batch_id)
        if self._refused("problems", batch_id) or batch is None or self._not_connected(batch_id):
            return
        from batchboard.ui import results_actions

        assert self.results is not None
        results_actions.open_problems(self.app, self.results, batch, self.results_ready)

    def open_download(self, batch_id: str) -> None:
        """`d`: download (or reuse) the results, then offer to save a copy."""
        batch = self.book.batches.get(batch_id)
        if self._refused("download", batch_id) or batch is None or self._not_connected(batch_id):
            return
        from batchboard.ui import results_actions

        assert self.results is not None
        results_actions.open_download(self.app, self.results, batch, self.results_ready)

    def _not_connected(self, batch_id: str) -> bool:
        """Say so if the batch's results need the API (they are not indexed here) and it is not connected."""
        service = self.results
        if service is not None and (self.api is not None or service.is_indexed(batch_id)):
            return False
        self.app.notify(
            "Connecting… its results can be downloaded once connected.", title="Not connected yet", timeout=4
        )
        return True

    def request_retry(self, batch_id: str) -> None:
        """`R`: the retry screen for the batch's failed items, after downloading its results if needed."""
        batch = self.book.batches.get(batch_id)
        if self._refused("retry", batch_id) or batch is None or self._not_connected(batch_id):
            return
        service = self.results
        assert service is not None
        if service.is_indexed(batch_id):
            self.open_retry(batch_id, self._retry_types(batch))
            return
        from batchboard.ui.results_actions import DownloadScreen

        def downloaded(report: object) -> None:
            if report is not None and service.is_indexed(batch_id):
                self.results_ready(batch_id)
                self.open_retry(batch_id, self._retry_types(batch))

        self.app.push_screen(DownloadScreen(service, batch, offer_export=False), downloaded)

    def _retry_types(self, batch: Batch) -> str | None:
        """The retry screen's first choices: the default (API errors and expired), and when the batch has no
        failed items, its unusable answers' classes (the only thing there is to resend)."""
        if batch.can_retry:
            return None
        from batchboard.core.jobs import DEFAULT_TYPES

        return ",".join((*DEFAULT_TYPES, *self.book.unusable(batch.id)))

    def open_retry(self, batch_id: str, types: str | None = None) -> None:
        """The retry screen for `batch_id` (its results are indexed)."""
        from batchboard.ui.screens.submit import RetryScreen

        screen = RetryScreen(self.store, self.client, self.settings, self.clock, batch_id, types)
        self.app.push_screen(screen, callback=self._after_send)

    def open_submit(self, path: str = "") -> None:
        """`n`: the submit screen."""
        if self._refused("submit", None):
            return
        from batchboard.ui.screens.submit import SubmitScreen

        screen = SubmitScreen(self.store, self.client, self.settings, self.clock, path=path)
        self.app.push_screen(screen, callback=self._after_send)

    def _after_send(self, batch_ids: list[str] | None) -> None:
        if batch_ids:
            self.submitted(batch_ids)

    def submitted(self, batch_ids: list[str]) -> None:
        """Batches were created (`n` or `R`): take the labels the submission gave them, and poll now so
        their rows appear."""
        for batch_id in batch_ids:
            label = self.store.label(batch_id)
            if label:
                self.book.labels[batch_id] = label
        self._labels_changed([b for b in batch_ids if b in self.book.batches])
        if self.poller is not None:
            self.poller.refresh_now()

    def recovered(self, notices: list[RecoveryNotice]) -> None:
        """Reconciling or verifying found something about a submission whose create answer had been lost:
        say so (and ask where the user decides), show its batch."""
        labels = self.store.labels()
        changed = [b for b, label in labels.items() if self.book.labels.get(b) != label]
        self.book.labels = labels
        self._labels_changed([b for b in changed if b in self.book.batches])
        from batchboard.ui.screens.submit import show_recovery

        show_recovery(self.app, notices, self.resend_chunk)
        if self.poller is not None:
            self.poller.refresh_now()

    def resend_chunk(self, notice: RecoveryNotice) -> None:
        """The user chose to send again a chunk whose batch could not be identified."""
        if notice.ask is None:
            return
        submission_id, chunk = notice.ask
        client = self.client()
        if client is None:
            self.app.notify("Not connected to the API yet; it will ask again on the next start.")
            return
        self.app.run_worker(self._resend(submission_id, chunk, client), group="resend", exit_on_error=False)

    async def _resend(self, submission_id: str, chunk: int, client: AsyncAnthropic) -> None:
        from batchboard.core.submit.intents import SubmitError, Submitter
        from batchboard.core.submit.recovery import mark_for_resend

        mark_for_resend(self.store, submission_id, chunk)
        try:
            done = await Submitter(self.store, client, self.clock).send(submission_id)
        except SubmitError as error:
            self.app.notify(str(error), title="Not sent", severity="error", timeout=15, markup=False)
            return
        self.app.notify(f"Created {', '.join(done.batch_ids)}", title="Sent again", markup=False, timeout=8)
        self.submitted(done.batch_ids)

    def open_attach(self, batch_id: str) -> None:
        """`a`: link the source file of a batch sent elsewhere."""
        batch = self.book.batches.get(batch_id)
        if batch is None:
            self.app.notify("That batch is no longer listed.", severity="warning")
            return
        if self._refused("attach", batch_id):
            return
        from batchboard.ui.screens.attach import AttachScreen

        screen = AttachScreen(
            self.store,
            batch,
            self.results,
            self.settings,
            self.clock,
            on_attached=self.attached,
            on_ingested=self.results_ready,
            latest=lambda: self.book.batches.get(batch_id),
        )
        self.app.push_screen(screen, callback=lambda _: self._state_changed())  # the detail shows the link

    def attached(self, batch_id: str) -> None:
        """A source file was linked to `batch_id` (`a`): `R` can use it now; the detail shows it."""
        if self.results is not None:
            self.results.changed()  # its outputs were checked against the requests' schemas
        self.load_sources()
        self._state_changed()

    def open_job(self, batch_id: str) -> None:
        """`J`: the batch and all its retries as one job."""
        if self._refused("job", batch_id):
            return
        from batchboard.ui.screens.job import JobScreen

        self.app.push_screen(JobScreen(self.store, batch_id))

    def open_chat(self) -> None:
        """`t`: the chat pane; it stays installed, so escape comes back without losing it."""
        from batchboard.ui.screens.chat import chat_screen_for, open_chat

        open_chat(self.app, partial(chat_screen_for, self.app))

    def request_label(self, batch_id: str) -> None:
        """`l`: set or clear the batch's label."""
        if self._refused("set_label", batch_id):
            return
        from batchboard.ui.modals.label import LabelInput

        def done(label: str | None) -> None:
            if label is None:
                return
            label = label.strip()
            if label:
                self.book.labels[batch_id] = label
            else:
                self.book.labels.pop(batch_id, None)
            store = self.store
            self.write_store("the label", lambda: store.set_label(batch_id, label or None))
            self._labels_changed([batch_id])

        self.app.push_screen(LabelInput(batch_id, self.book.label(batch_id)), done)

    def request_cancel(self, batch_id: str) -> None:
        """`c`: cancel the batch, after a confirmation."""
        batch = self.book.batches.get(batch_id)
        if self._refused("cancel_batch", batch_id) or batch is None or self.api is None:
            return
        from batchboard.ui.modals.cancel import CancelConfirm

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._cancel(batch)

        self.app.push_screen(CancelConfirm(batch, self.book.label(batch_id)), done)

    def _cancel(self, batch: Batch) -> None:
        optimistic = dataclasses.replace(
            batch, processing_status="canceling", cancel_initiated_at=self.clock.now()
        )
        self._canceling[batch.id] = optimistic
        self.show_batches([optimistic])
        self.app.run_worker(self._send_cancel(batch), group="cancel", exit_on_error=False)

    async def _send_cancel(self, batch: Batch) -> None:
        assert self.api is not None
        try:
            result = await self.api.cancel(batch.id)
        except Exception as exc:  # an API error, or anything else: the row must not stay `canceling`
            from batchboard.core.gateway.errors import ApiError

            self._canceling.pop(batch.id, None)
            known = self.poller.batches.get(batch.id, batch) if self.poller else batch
            self.show_batches([known])
            message = exc.message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            self.app.notify(message, title="Could not cancel", severity="error", markup=False)
            return
        if self.poller is not None:
            self.poller.observe(result)
        if result.processing_status != "in_progress":
            self._canceling.pop(batch.id, None)
        self.show_batches([self._keep_optimistic(result)])


#: The screens' actions on one batch, whose rule is `Controller.why_not`.
BATCH_ACTIONS = frozenset({"cancel_batch", "set_label", "problems", "download", "retry", "attach", "job"})
