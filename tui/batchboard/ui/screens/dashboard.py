"""The main screen: every batch, live. It shows the summary, the view line, the table and the filter; the
controller (`ui/controller.py`) owns the connection, the poll loop and the batch actions.

Start-up never waits for the SDK: the first frame shows the summary ("connecting…") and the table only:
empty, or the saved view (the last session's rows for this profile and base URL, read from the store in
a thread before the app starts; the header says "saved view from 14:02 · connecting…" until the first
round lands, and keys that need the API say that they wait). Once it is on screen (`first_frame_shown`),
the footer and the filter input are mounted and the controller connects in a thread worker; then one
async worker runs the poll loop for the life of the app.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence, Set
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from batchboard.core.models import Batch
from batchboard.ui.book import QuickFilter
from batchboard.ui.messages import BatchesUpdated
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar
from batchboard.ui.widgets.view_bar import ViewBar, ViewState

if TYPE_CHECKING:
    from textual.timer import Timer

    from batchboard.ui.controller import Controller

QUICK_FILTERS = Binding.Group("Show", compact=True)
"""The quick filters 1-4 (all, active, ended, with errors): one footer entry."""


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", tooltip="Filter by id, label or status", id="dashboard.filter"),
        # The quick filters share one compact footer entry ("1234 Show"), so the footer fits 160 columns
        # with every key an ended batch with errors and retries offers.
        Binding(
            "1",
            "quick_filter('all')",
            "Show all",
            group=QUICK_FILTERS,
            tooltip="Every batch",
            id="dashboard.filter_all",
        ),
        Binding(
            "2",
            "quick_filter('active')",
            "Show active",
            group=QUICK_FILTERS,
            tooltip="Only active batches",
            id="dashboard.filter_active",
        ),
        Binding(
            "3",
            "quick_filter('ended')",
            "Show ended",
            group=QUICK_FILTERS,
            tooltip="Only ended batches",
            id="dashboard.filter_ended",
        ),
        Binding(
            "4",
            "quick_filter('errors')",
            "Show with errors",
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

    HELP_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("up,down", "move the cursor"),
        ("pageup,pagedown", "a page up or down"),
    )
    """Keys the table widget gives (not batchboard bindings), for the help; dropped once bound here."""

    filter_delay = 0.1
    """Seconds after the last keystroke before the text filter is applied to a big book (keystrokes in
    between are coalesced); enter applies it at once. Tests set it (and `filter_debounce_rows`)."""
    filter_debounce_rows = 1_000
    """Books up to this many batches are filtered on every keystroke: that costs well under a frame."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.book = controller.book
        self._filter_timer: Timer | None = None
        self._typed_filter = ""

    def compose(self) -> ComposeResult:
        # The first frame: the footer and the filter input come after it (`first_frame_shown`).
        settings = self.controller.settings
        yield SummaryBar(self.book, demo=self.controller.demo, id="summary")
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

    def first_frame_shown(self) -> None:
        """The app's first frame is on screen (Textual's `Ready`): mount the footer and the filter input.

        Styling the filter input costs more than the rest of the first screen: it must not delay the first
        paint."""
        self._filter_input()

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

    # -- what the controller tells -----------------------------------------------------------------

    def batches_changed(self, changed: Sequence[Batch], removed: Set[str]) -> None:
        """Rows update in place: the cursor stays on its batch."""
        with self.app.batch_update():
            self.table.apply(changed, removed)
            self.query_one(SummaryBar).show_summary()
            self._show_view()
        self.refresh_bindings()

    def labels_changed(self, batch_ids: Collection[str]) -> None:
        for batch_id in batch_ids:
            self.table.update_label(batch_id)

    def state_changed(self) -> None:
        summary = self.query_one(SummaryBar)
        summary.demo = self.controller.demo
        summary.connect_message = self.controller.connect_message
        summary.show_summary()
        self._show_view()
        self.refresh_bindings()

    def tick(self) -> None:
        """Once a second: countdowns and ages move (only the rows in view are drawn again)."""
        self.table.tick()
        self.query_one(SummaryBar).show_summary()

    # -- what is shown ---------------------------------------------------------------------------

    def _show_view(self) -> None:
        table = self.table
        fetcher = self.controller.fetcher
        self.query_one(ViewBar).show(
            ViewState(
                sort=table.sort_mode.value,
                quick=table.quick_filter.value,
                filter_text=table.filter_text,
                shown=table.row_count,
                total=len(self.book.batches),
                activity=fetcher.status if fetcher is not None else None,
            )
        )

    @property
    def selected(self) -> Batch | None:
        batch_id = self.table.selected_id
        return self.book.batches.get(batch_id) if batch_id else None

    @property
    def selected_id(self) -> str | None:
        return self.table.selected_id

    def why_not(self, action: str) -> str | None:
        """Why `action` does not apply now (None when it does): the controller's rule for batch actions."""
        if action == "clear_filter":
            shown = bool(self.table.filter_text) or bool(self.query("#filter.-shown"))
            return None if shown else "no filter is set"
        return self.controller.why_not(action, self.selected_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A key that needs the API stays offered while connecting: pressed, it says that it waits.
        return self.why_not(action) is None or self.controller.waits_for_connection(action)

    @on(BatchesUpdated)
    def _batches_updated(self, event: BatchesUpdated) -> None:
        event.stop()  # applied once, here; not again by the App
        self.controller.apply_updates()

    @on(BatchTable.RowHighlighted)
    def _highlighted(self, event: BatchTable.RowHighlighted) -> None:
        self.book.saved_selection = event.key  # the next start's saved view puts the cursor back here
        self.refresh_bindings()

    @on(BatchTable.RowSelected)
    def _selected(self, event: BatchTable.RowSelected) -> None:
        self.controller.open_detail(event.key)

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
        self.controller.open_chat()

    def action_refresh(self) -> None:
        self.controller.refresh()

    def action_submit(self) -> None:
        self.controller.open_submit()

    def _on_selected(self, act: Callable[[str], None]) -> None:
        batch_id = self.selected_id
        if batch_id is not None:
            act(batch_id)

    def action_problems(self) -> None:
        self._on_selected(self.controller.open_problems)

    def action_download(self) -> None:
        self._on_selected(self.controller.open_download)

    def action_set_label(self) -> None:
        self._on_selected(self.controller.request_label)

    def action_retry(self) -> None:
        self._on_selected(self.controller.request_retry)

    def action_cancel_batch(self) -> None:
        self._on_selected(self.controller.request_cancel)

    def action_attach(self) -> None:
        self._on_selected(self.controller.open_attach)

    def action_job(self) -> None:
        self._on_selected(self.controller.open_job)
