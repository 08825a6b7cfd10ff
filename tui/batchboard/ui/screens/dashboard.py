"""The main screen: every batch, live. Owns the connection, the poll worker and the batch actions.

Start-up never waits for the SDK: the first frame shows the summary ("connecting…") and the table only:
empty, or the saved view (the last session's rows for this profile and base URL, read from the store in
a thread before the app starts; the header says "saved view from 14:02 · connecting…" until the first
round lands, and keys that need the API say that they wait). Once it is on screen (`first_frame_shown`),
the footer and the filter input are mounted and a thread worker imports the SDK and builds the client;
then one async worker runs the poll loop for the life of the app.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from batchboard.core import format as fmt
from batchboard.core.models import Batch, Outcome
from batchboard.ui.book import BatchBook, QuickFilter
from batchboard.ui.cells import end_summary
from batchboard.ui.messages import BatchesUpdated, PendingChanges
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar
from batchboard.ui.widgets.view_bar import ViewBar, ViewState

if TYPE_CHECKING:
    from textual.timer import Timer

    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.poller import Poller, PollStatus, PollUpdate
    from batchboard.core.submit.attach import LocalSources
    from batchboard.ui.app import BatchboardApp
    from batchboard.ui.fetcher import ResultsFetcher
    from batchboard.ui.screens.submit import RecoveryNotice

SEVERITY = {
    Outcome.SUCCEEDED: "information",
    Outcome.PARTIAL: "warning",
    Outcome.EXPIRED: "warning",
    Outcome.CANCELED: "information",
    Outcome.FAILED: "error",
}


#: Actions that need the API, and what to say when they are asked for before it is connected. Not queued:
#: a cancel or retry chosen on a saved row, possibly out of date, must not run later by itself.
NEEDS_API = {
    "cancel_batch": "the cancel will be offered once connected",
    "retry": "the retry will be offered once connected",
    "submit": "submitting will be offered once connected",
    "refresh": "the first refresh runs as soon as it is connected",
}


QUICK_FILTERS = Binding.Group("Show", compact=True)
"""The quick filters 1-4 (all, active, ended, with errors): one footer entry."""


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", tooltip="Filter by id, label or status", id="dashboard.filter"),
        # The quick filters share one compact footer entry ("1234 Show"), so the footer fits 160 columns
        # with every key an ended batch with errors and retries offers.
        Binding("1", "quick_filter('all')", "All", group=QUICK_FILTERS, id="dashboard.filter_all"),
        Binding(
            "2",
            "quick_filter('active')",
            "Active",
            group=QUICK_FILTERS,
            tooltip="Only active batches",
            id="dashboard.filter_active",
        ),
        Binding(
            "3",
            "quick_filter('ended')",
            "Ended",
            group=QUICK_FILTERS,
            tooltip="Only ended batches",
            id="dashboard.filter_ended",
        ),
        Binding(
            "4",
            "quick_filter('errors')",
            "Errors",
            group=QUICK_FILTERS,
            tooltip="Only batches with errors",
            id="dashboard.filter_errors",
        ),
        Binding(
            "s", "cycle_sort", "Sort", tooltip="Sort by created, status, expiry, cost", id="dashboard.sort"
        ),
        Binding("n", "submit", "New", tooltip="Submit a JSONL file as a new batch", id="dashboard.submit"),
        Binding(
            "R",
            "retry",
            "Retry",
            tooltip="Resend the selected batch's failed items",
            id="dashboard.retry",
        ),
        Binding(
            "a",
            "attach",
            "Attach",
            tooltip="Link the source file of a batch sent elsewhere, so R can retry it",
            id="dashboard.attach",
        ),
        Binding(
            "J", "job", "Job", tooltip="The selected batch and all its retries as one job", id="dashboard.job"
        ),
        Binding("c", "cancel_batch", "Cancel", tooltip="Cancel the selected batch", id="dashboard.cancel"),
        Binding("l", "set_label", "Label", tooltip="Label the selected batch", id="dashboard.label"),
        Binding("r", "refresh", "Refresh", tooltip="Poll the API now", id="dashboard.refresh"),
        Binding(
            "e",
            "problems",
            "Errors",
            tooltip="Errors and results of the selected batch",
            id="dashboard.problems",
        ),
        Binding(
            "d",
            "download",
            "Download",
            tooltip="Download the selected batch's results",
            id="dashboard.download",
        ),
        Binding(
            "t", "chat", "Chat", tooltip="Stream a prompt, then compare it with a batch", id="dashboard.chat"
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="dashboard.clear_filter"),
    ]
    #: The footer's ranking (most important first; ? and q always stay): what to do about the selected batch,
    #: then finding and adding batches, then the rest (all in `?` and the palette).
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = (
        "problems",
        "retry",
        "cancel_batch",
        "filter",
        "submit",
        "set_label",
        "download",
        "select_cursor",
        "refresh",
        "job",
        "attach",
        "cycle_sort",
        "quick_filter('all')",
        "chat",
    )

    app: BatchboardApp

    filter_delay = 0.1
    """Seconds after the last keystroke before the text filter is applied to a big book (keystrokes in
    between are coalesced); enter applies it at once. Tests set it (and `filter_debounce_rows`)."""
    filter_debounce_rows = 1_000
    """Books up to this many batches are filtered on every keystroke: that costs well under a frame."""

    def __init__(self, book: BatchBook, *, demo: bool = False) -> None:
        super().__init__()
        self.book = book
        self.demo = demo
        self.api: BatchApi | None = None
        self.poller: Poller | None = None
        self._pending = PendingChanges()
        self._canceling: dict[str, Batch] = {}  # optimistic rows while a cancel is on its way
        self._was_stale = False
        self._filter_timer: Timer | None = None
        self._typed_filter = ""
        self.sources: LocalSources | None = None
        """Which batches batchboard holds the requests of, and their retries; read in a thread."""
        self.fetcher: ResultsFetcher | None = None
        """Fetches recent ended batches' results in the background; made when polling starts."""

    def compose(self) -> ComposeResult:
        # The first frame: the footer and the filter input come after it (`first_frame_shown`).
        settings = self.app.settings
        yield SummaryBar(self.book, demo=self.demo, id="summary")
        yield ViewBar(id="view")
        yield BatchTable(
            self.book,
            warning_hours=settings.expiry_warning_hours,
            critical_hours=settings.expiry_critical_hours,
            id="batches",
        )

    @property
    def table(self) -> BatchTable:
        return self.query_one(BatchTable)

    def on_mount(self) -> None:
        self.query_one(SummaryBar).show_summary()
        self._show_view()
        table = self.table
        table.focus()
        if self.book.saved_selection is not None:
            table.move_cursor(key=self.book.saved_selection)
        self.set_interval(1.0, self.tick)

    def remember_cursor(self) -> None:
        """On quit: the batch the cursor is on, for the next start's saved view (best effort: a store
        locked by another batchboard must not hold up or break quitting)."""
        with contextlib.suppress(sqlite3.Error):
            self.book.store.save_selected(self.book.saved_selection)

    def waits_for_connection(self, action: str) -> bool:
        """True (and says so) when `action` needs the API and it is not connected yet."""
        if self.api is not None or action not in NEEDS_API:
            return False
        self.notify(f"Connecting… {NEEDS_API[action]}.", title="Not connected yet", timeout=4)
        return True

    def first_frame_shown(self) -> None:
        """The app's first frame is on screen (Textual's `Ready`): mount the rest and connect.

        Styling the filter input costs more than the rest of the first screen, and the SDK import holds
        the GIL for seconds: neither may delay the first paint."""
        self._filter_input()
        self.connect()

    def _filter_input(self) -> Input:
        """The filter input, with the footer below it: mounted after the first frame, or when first needed."""
        for filter_input in self.query("#filter").results(Input):
            return filter_input
        from batchboard.ui.widgets.key_footer import KeyFooter

        filter_input = Input(
            placeholder="filter by id, label or status (enter: keep, escape: clear)", id="filter"
        )
        self.mount(filter_input, KeyFooter())
        return filter_input

    # -- connecting and polling ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Import the SDK and build the client off the main thread (it takes about two seconds)."""
        from batchboard.core.gateway.client import MissingApiKeyError

        try:
            api = self.app.connect_api()
            # Heavy UI modules used once connected: load them here too, off the main thread.
            import batchboard.ui.results_actions  # noqa: F401
        except MissingApiKeyError as exc:
            self.app.call_from_thread(self.app.show_no_key, str(exc))
            return
        except Exception as exc:
            self.app.call_from_thread(self._connect_failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.start_polling, api)

    def _connect_failed(self, reason: str) -> None:
        summary = self.query_one(SummaryBar)
        summary.connect_message = f"could not connect: {reason}"
        summary.show_summary()
        self.notify(reason, title="Could not connect", severity="error", markup=False)

    def start_polling(self, api: BatchApi) -> None:
        """Start the one poll loop on `api` (also used by tests and benchmarks with a prepared api)."""
        # Imported after the first frame, not before: the first paint must not wait for them.
        from batchboard.core.poller import Poller
        from batchboard.ui import results_actions
        from batchboard.ui.fetcher import ResultsFetcher

        self.api = api
        self.book.results = results_actions.make_results_service(self.app)
        # An older database's result items move to per-batch files once: slow, so in a thread, now.
        self.run_worker(
            self._prepare_results, thread=True, group="results-migrate", exclusive=True, exit_on_error=False
        )
        self.fetcher = ResultsFetcher(
            self.app,
            self.book.results,
            days=self.app.settings.fetch_results_days,
            clock=self.book.clock,
            on_ready=self.results_ready,
            on_change=self._show_view,
        )
        self.poller = Poller(
            api,
            clock=self.book.clock,
            store=self.book.store,
            on_update=self._on_poll_update,
            interval=self.app.settings.poll_interval,
        )
        if self.book.saved_at is not None:
            self.poller.seed(self.book.batches.values())  # saved ended batches cost no request
        self.book.connected = True
        self.query_one(SummaryBar).show_summary()
        self.poll()
        self.reconcile_submissions(api)

    @work(thread=True, exclusive=True, group="reconcile", exit_on_error=False)
    def reconcile_submissions(self, api: BatchApi) -> None:
        """Resolve submissions whose create answer was lost before a crash, in a thread with its own loop
        and HTTP connections (the app's client belongs to the UI loop). Says what it found."""
        import asyncio

        from batchboard.core.submit.recovery import needs_attention

        store = self.book.store
        if not needs_attention(store):
            return  # nothing left half-sent, undecided or unverified: no request at all
        from batchboard.ui.screens.submit import reconcile_on_start

        def ensure_results(batch_id: str) -> None:  # a recovered batch that ended: its results, to check it
            batch = self.book.batches.get(batch_id)
            if batch is not None and batch.is_ended:
                self.book.results.ensure(batch)

        async def run() -> list[RecoveryNotice]:
            client = api.detached_client()
            try:
                return await reconcile_on_start(store, client, self.book.clock, ensure_results)
            finally:
                await client.close()

        try:
            lines = asyncio.run(run())
        except Exception as exc:
            self.app.call_from_thread(self._reconcile_failed, f"{type(exc).__name__}: {exc}")
            return
        if lines:
            self.app.call_from_thread(self.recovered, lines)

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        assert self.poller is not None
        await self.poller.run()

    def _on_poll_update(self, update: PollUpdate) -> None:
        self._pending.add(update)
        self.post_message(BatchesUpdated())

    @on(BatchesUpdated)
    def _apply_updates(self) -> None:
        pending = self._pending.take()
        if any(batch_id not in self.book.batches for batch_id in pending.changed):
            self.load_sources()  # new batches: sent from here, by another batchboard, or elsewhere
        changed = [self._keep_optimistic(b) for b in pending.changed.values()]
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
        self.notify(
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

    def show_batches(self, changed: list[Batch], removed: set[str] | frozenset[str] = frozenset()) -> None:
        """Put batches into the book and the table in one go; the cursor stays on its batch."""
        for batch in changed:
            self.book.apply(batch)
        for batch_id in removed:
            self.book.remove(batch_id)
        table = self.table
        with self.app.batch_update():
            table.apply(changed, removed)
            self.query_one(SummaryBar).show_summary()
            self._show_view()
        self.refresh_bindings()
        self.app.refresh_detail()

    def _show_status(self, status: PollStatus) -> None:
        self.book.status = status
        if not status.ok and not self._was_stale:
            self.notify(
                status.error or "unknown error",
                title="Could not refresh: data is stale",
                severity="warning",
                markup=False,
            )
        elif status.ok and self._was_stale:
            self.notify("Back in touch with the API.", title="Refreshed")
        self._was_stale = not status.ok
        self.query_one(SummaryBar).show_summary()

    def _announce_end(self, batch: Batch) -> None:
        label = self.book.label(batch.id)
        name = f"{label} ({fmt.short_id(batch.id)})" if label else batch.id
        self.notify(
            f"{name} ended, {end_summary(batch)}",
            title="Batch ended",
            severity=SEVERITY.get(batch.outcome, "information"),  # type: ignore[arg-type]
            timeout=10,
            markup=False,
        )
        store, now = self.book.store, self.book.clock.now()
        self.write_store(
            "that this batch's end was announced", lambda: store.mark_end_notified(batch.id, now=now)
        )
        from batchboard.ui import results_actions

        results_actions.ingest_in_background(self.app, self.book.results, batch, on_done=self.results_ready)

    @work(thread=True, group="store", exit_on_error=False)
    def write_store(self, what: str, write: Callable[[], object]) -> None:
        """Store writes run off the UI thread: another batchboard process (a CLI submit) may hold the
        database's write lock for a while, and a locked database must not freeze or end the app."""
        try:
            write()
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self.notify,
                f"Could not save {what} in the local store ({exc}). It is kept for this session; "
                "if another batchboard command is running, it will work again once that finishes.",
                title="Local store busy",
                severity="warning",
                markup=False,
            )

    def _prepare_results(self) -> None:
        service = self.book.results
        if service is None:
            return
        try:
            service.prepare()
        except Exception as exc:  # a locked or full disk: said once; each later use tries again
            self.app.call_from_thread(
                self.notify,
                f"Could not move older results to their new files: {type(exc).__name__}: {exc}",
                title="Results database",
                severity="warning",
                markup=False,
            )

    def results_ready(self, batch_id: str) -> None:
        """A batch's results were indexed: its cost cells and the header totals can be filled."""
        batch = self.book.batches.get(batch_id)
        if batch is not None:
            self.show_batches([batch])
        self.verify_recovered(batch_id)

    @work(thread=True, group="verify", exit_on_error=False)
    def verify_recovered(self, batch_id: str) -> None:
        """A recovered batch's results are here: check its custom_ids against its submission's."""
        from batchboard.ui.screens.submit import verify_after_results

        notices = verify_after_results(self.book.store, batch_id)
        if notices:
            self.app.call_from_thread(self.recovered, notices)

    def tick(self) -> None:
        """Once a second: countdowns and ages move (only the rows in view are drawn again)."""
        self.table.tick()
        self.query_one(SummaryBar).show_summary()

    # -- what is shown ---------------------------------------------------------------------------

    def _show_view(self) -> None:
        table = self.table
        self.query_one(ViewBar).show(
            ViewState(
                sort=table.sort_mode.value,
                quick=table.quick_filter.value,
                filter_text=table.filter_text,
                shown=table.row_count,
                total=len(self.book.batches),
                activity=self.fetcher.status if self.fetcher is not None else None,
            )
        )

    @property
    def selected(self) -> Batch | None:
        batch_id = self.table.selected_id
        return self.book.batches.get(batch_id) if batch_id else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_batch":
            batch = self.selected
            return batch is not None and batch.can_cancel
        if action == "set_label":
            return self.selected is not None
        if action in ("problems", "download"):
            batch = self.selected
            return batch is not None and batch.is_ended
        if action == "retry":
            batch = self.selected
            return batch is not None and batch.can_retry
        if action == "attach":
            batch = self.selected  # until the sources are read: offered (the screen says if it is not)
            return batch is not None and (self.sources is None or self.sources.can_attach(batch.id))
        if action == "job":  # a batch with retries, or a retry
            batch = self.selected
            return batch is not None and self.sources is not None and self.sources.in_job(batch.id)
        if action == "clear_filter":
            return bool(self.table.filter_text) or bool(self.query("#filter.-shown"))
        return True

    @on(BatchTable.RowHighlighted)
    def _highlighted(self, event: BatchTable.RowHighlighted) -> None:
        self.book.saved_selection = event.key
        self.refresh_bindings()

    @on(BatchTable.RowSelected)
    def _selected(self, event: BatchTable.RowSelected) -> None:
        self.app.open_detail(event.key)

    # -- actions ---------------------------------------------------------------------------------

    def action_filter(self) -> None:
        filter_input = self._filter_input()
        filter_input.add_class("-shown")
        filter_input.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._typed_filter = event.value.strip()
        self._cancel_pending_filter()
        if len(self.book.batches) <= self.filter_debounce_rows:
            self.apply_filter()
        else:
            self._filter_timer = self.set_timer(self.filter_delay, self.apply_filter, name="filter")

    @property
    def filter_pending(self) -> bool:
        """Typed text is waiting for `filter_delay` before it is applied."""
        return self._filter_timer is not None

    def apply_filter(self) -> None:
        """Apply the typed filter text now (the debounce timer's callback; enter calls it too)."""
        self._cancel_pending_filter()
        if self._typed_filter != self.table.filter_text:
            self.table.filter_text = self._typed_filter
            self._refill()

    def _cancel_pending_filter(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.apply_filter()
        self.query_one("#filter", Input).remove_class("-shown")
        self.table.focus()

    def action_clear_filter(self) -> None:
        filter_input = self._filter_input()
        filter_input.remove_class("-shown")
        self.table.focus()
        self._cancel_pending_filter()
        self._typed_filter = ""
        if filter_input.value or self.table.filter_text:
            with filter_input.prevent(Input.Changed):
                filter_input.value = ""
            self.table.filter_text = ""
            self._refill()

    def action_quick_filter(self, which: str) -> None:
        self.table.quick_filter = {
            "all": QuickFilter.ALL,
            "active": QuickFilter.ACTIVE,
            "ended": QuickFilter.ENDED,
            "errors": QuickFilter.ERRORS,
        }[which]
        self._refill()

    def _refill(self) -> None:
        with self.app.batch_update():
            self.table.refilter()
            self._show_view()
        self.refresh_bindings()

    def action_cycle_sort(self) -> None:
        table = self.table
        table.set_sort(table.sort_mode.next())
        self._show_view()

    def action_chat(self) -> None:
        """Open the chat pane; it stays installed, so escape comes back here without losing it."""
        from batchboard.ui.screens.chat import chat_screen_for, open_chat

        open_chat(self.app, partial(chat_screen_for, self.app))

    def action_refresh(self) -> None:
        if self.waits_for_connection("refresh"):
            return
        if self.poller is not None:
            self.poller.refresh_now()
            self.notify("Refreshing…", timeout=1.5)

    def action_problems(self) -> None:
        if self.selected is not None:
            from batchboard.ui import results_actions

            results_actions.open_problems(self.app, self.book.results, self.selected, self.results_ready)

    def action_download(self) -> None:
        if self.selected is not None:
            from batchboard.ui import results_actions

            results_actions.open_download(self.app, self.book.results, self.selected, self.results_ready)

    def action_set_label(self) -> None:
        batch = self.selected
        if batch is not None:
            self.request_label(batch.id)

    def action_submit(self) -> None:
        if self.waits_for_connection("submit"):
            return
        from batchboard.ui.screens.submit import push_submit

        push_submit(self.app)

    def action_retry(self) -> None:
        batch = self.selected
        if batch is not None:
            self.request_retry(batch.id)

    def action_cancel_batch(self) -> None:
        batch = self.selected
        if batch is not None:
            self.request_cancel(batch.id)

    def action_attach(self) -> None:
        batch = self.selected
        if batch is not None:
            from batchboard.ui.screens.attach import push_attach

            push_attach(self.app, batch.id)

    def action_job(self) -> None:
        batch = self.selected
        if batch is not None:
            from batchboard.ui.screens.job import push_job

            push_job(self.app, batch.id)

    # -- batch actions (also used by the detail screen) ------------------------------------------

    def request_retry(self, batch_id: str) -> None:
        """`R`: the retry screen for the batch's failed items, after downloading its results if needed."""
        batch = self.book.batches.get(batch_id)
        if batch is None or not batch.can_retry:
            self.notify("Only an ended batch with failed items can be retried.", severity="warning")
            return
        if self.waits_for_connection("retry"):
            return
        service = self.book.results
        if service is None:
            self.notify("Not connected to the API yet.", severity="warning")
            return
        from batchboard.ui.screens.submit import push_retry

        if service.is_indexed(batch_id):
            push_retry(self.app, batch_id)
            return
        from batchboard.ui.results_actions import DownloadScreen

        def downloaded(report: object) -> None:
            if report is not None and service.is_indexed(batch_id):
                self.results_ready(batch_id)
                push_retry(self.app, batch_id)

        self.app.push_screen(DownloadScreen(service, batch, offer_export=False), downloaded)

    @work(thread=True, exclusive=True, group="sources", exit_on_error=False)
    def load_sources(self) -> None:
        """Which batches batchboard holds the requests of (`a` is for the others) and which were retried
        (`J`), off the UI thread: the store may be busy with results ingestion."""
        from batchboard.core.submit.attach import local_sources

        try:
            sources = local_sources(self.book.store)
        except sqlite3.Error:
            return  # the keys stay as they were; the next new batch reads them again
        self.app.call_from_thread(self._sources_loaded, sources)

    def _sources_loaded(self, sources: LocalSources) -> None:
        self.sources = sources
        self.refresh_bindings()

    def attached(self, batch_id: str) -> None:
        """A source file was linked to `batch_id` (`a`): `R` can use it now; the detail shows it."""
        self.load_sources()
        self.app.refresh_detail()

    def submitted(self, batch_ids: list[str]) -> None:
        """Batches were created (`n` or `R`): take the labels the submission gave them, and poll now so
        their rows appear."""
        for batch_id in batch_ids:
            label = self.book.store.label(batch_id)
            if label:
                self.book.labels[batch_id] = label
            if batch_id in self.book.batches:
                self.table.update_label(batch_id)
        if self.poller is not None:
            self.poller.refresh_now()

    def _reconcile_failed(self, reason: str) -> None:
        self.notify(reason, title="Could not check unconfirmed submissions", severity="warning", markup=False)

    def recovered(self, notices: list[RecoveryNotice]) -> None:
        """Reconciling or verifying found something about a submission whose create answer had been lost:
        say so (and ask where the user decides), show its batch."""
        labels = self.book.store.labels()
        changed = [b for b, label in labels.items() if self.book.labels.get(b) != label]
        self.book.labels = labels
        for batch_id in changed:
            if batch_id in self.book.batches:
                self.table.update_label(batch_id)
        from batchboard.ui.screens.submit import show_recovery

        show_recovery(self.app, notices)
        if self.poller is not None:
            self.poller.refresh_now()

    def request_label(self, batch_id: str) -> None:
        from batchboard.ui.modals.label import LabelInput

        def done(label: str | None) -> None:
            if label is None:
                return
            label = label.strip()
            if label:
                self.book.labels[batch_id] = label
            else:
                self.book.labels.pop(batch_id, None)
            store = self.book.store
            self.write_store("the label", lambda: store.set_label(batch_id, label or None))
            self.table.update_label(batch_id)
            self.app.refresh_detail()

        self.app.push_screen(LabelInput(batch_id, self.book.label(batch_id)), done)

    def request_cancel(self, batch_id: str) -> None:
        from batchboard.ui.modals.cancel import CancelConfirm

        batch = self.book.batches.get(batch_id)
        if batch is not None and batch.can_cancel and self.waits_for_connection("cancel_batch"):
            return
        if batch is None or not batch.can_cancel or self.api is None:
            self.notify("Only a batch still in progress can be canceled.", severity="warning")
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._cancel(batch)

        self.app.push_screen(CancelConfirm(batch, self.book.label(batch_id)), done)

    def _cancel(self, batch: Batch) -> None:
        optimistic = dataclasses.replace(
            batch, processing_status="canceling", cancel_initiated_at=self.book.clock.now()
        )
        self._canceling[batch.id] = optimistic
        self.show_batches([optimistic])
        self.send_cancel(batch)

    @work(group="cancel", exit_on_error=False)
    async def send_cancel(self, batch: Batch) -> None:
        assert self.api is not None
        try:
            result = await self.api.cancel(batch.id)
        except Exception as exc:  # an API error, or anything else: the row must not stay `canceling`
            from batchboard.core.gateway.errors import ApiError

            self._canceling.pop(batch.id, None)
            known = self.poller.batches.get(batch.id, batch) if self.poller else batch
            self.show_batches([known])
            message = exc.message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            self.notify(message, title="Could not cancel", severity="error", markup=False)
            return
        if self.poller is not None:
            self.poller.observe(result)
        if result.processing_status != "in_progress":
            self._canceling.pop(batch.id, None)
        self.show_batches([self._keep_optimistic(result)])
