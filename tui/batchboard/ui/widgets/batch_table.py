"""The batch table: every batch that passes the filter, in the chosen order, drawn by `VirtualTable`.

This module says what the columns are and how a batch reads in each; the book (`ui/book.py`) orders and
filters, once per change. Cells are rendered from the book when a row is drawn: static columns from a
per-batch memo, time-dependent ones (`live`) from the clock, so only rows on screen cost anything.

Column priorities (issue: narrow terminals are the default): ID and, when any batch has a label, Label are
frozen at the left; then Status, the Outcome bar, the Expires/archive countdown and Cost, which fit 80
columns; then, as width allows, Age, ETA, Err, Total, Saved, OK, Exp, Canc. Spare width goes to the Label.
Columns that do not fit follow to the right, reached with left/right (or shift+wheel).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from batchboard.core import format as fmt
from batchboard.core.models import Batch
from batchboard.ui import cells
from batchboard.ui.book import BatchBook, QuickFilter, SortMode
from batchboard.ui.palette import Palette
from batchboard.ui.widgets.table_layout import Column
from batchboard.ui.widgets.virtual_table import VirtualTable

COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", 10, frozen=True),
    Column("label", "Label", 8, frozen=True, flex=True),
    Column("status", "Status", 9, priority=1),
    Column("total", "Total", 7, priority=8, justify="right", numeric=True),
    Column("succeeded", "OK", 7, priority=10, justify="right", numeric=True),
    Column("errored", "Err", 6, priority=7, justify="right", numeric=True),
    Column("canceled", "Canc", 6, priority=12, justify="right", numeric=True),
    Column("expired", "Exp", 6, priority=11, justify="right", numeric=True),
    Column("bar", "Outcome", 12, priority=2),
    Column("age", "Age", 4, priority=5, justify="right", numeric=True, live=True),
    Column("deadline", "Expires/archive", 16, priority=3, live=True),
    Column("eta", "ETA", 17, priority=6, live=True),
    Column("cost", "Cost", 8, priority=4, justify="right", numeric=True),
    Column("savings", "Saved", 8, priority=9, justify="right", numeric=True),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
LIVE_COLUMNS = frozenset(c.key for c in COLUMNS if c.live)
BAR_WIDTH = next(c.width for c in COLUMNS if c.key == "bar")
#: A change of more batches than this (the first round) is shown by one pass over the book.
BULK_CHANGE = 1_000


class BatchTable(VirtualTable):
    """Every batch in the book that passes the filter, in the chosen order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail", tooltip="Open the batch's detail", id="table.detail"),
    ]

    def __init__(
        self,
        book: BatchBook,
        *,
        warning_hours: float = 4.0,
        critical_hours: float = 1.0,
        id: str | None = None,
    ) -> None:
        super().__init__(COLUMNS, self.render_cell, id=id)
        self.book = book
        self.warning_hours = warning_hours
        self.critical_hours = critical_hours
        self.filter_text = ""
        self.quick_filter = QuickFilter.ALL
        self.sort_mode = SortMode.CREATED
        self.palette = Palette.from_variables({})
        self._static_memo: dict[str, tuple[Batch, dict[str, Text]]] = {}
        self._order_seen = -1  # the book's order version the rows were listed from
        self._results_seen = 0  # the book's results version the static cells were drawn from
        self.set_column_hidden("label", True)

    def on_mount(self) -> None:
        self.palette = Palette.from_variables(self.app.theme_variables)
        self.watch(self.app, "theme", self._theme_changed, init=False)
        if self.book.batches:  # the saved view: its rows are in the first frame
            self._show_label_column()
            self.refilter()

    def _theme_changed(self) -> None:
        self.palette = Palette.from_variables(self.app.theme_variables)
        self._static_memo.clear()
        self.refresh_rows()

    # -- what the rows say -----------------------------------------------------------------------

    def static_cells(self, batch: Batch) -> dict[str, Text]:
        c = batch.counts
        palette = self.palette
        return {
            "id": Text(fmt.short_id(batch.id)),
            "label": Text(self.book.label(batch.id)),
            "status": cells.status_text(batch, palette),
            "total": Text(fmt.human_int(c.total)),
            "succeeded": cells.count_text(c.succeeded, palette.success),
            "errored": cells.count_text(c.errored, palette.error),
            "canceled": cells.count_text(c.canceled, palette.muted),
            "expired": cells.count_text(c.expired, palette.warning),
            "bar": cells.bar_text(batch, BAR_WIDTH, palette, sum(self.book.unusable(batch.id).values())),
            "cost": Text(self.book.cost_text(batch.id)),
            "savings": Text(self.book.savings_text(batch.id)),
        }

    def render_cell(self, batch_id: str, column: str) -> Text:
        if column in LIVE_COLUMNS:
            return self.render_live(batch_id, column)
        batch = self.book.batches.get(batch_id)
        if batch is None:
            return Text("")
        memo = self._static_memo.get(batch_id)
        if memo is None or memo[0] is not batch:
            memo = (batch, self.static_cells(batch))
            self._static_memo[batch_id] = memo
        return memo[1][column]

    def render_live(self, batch_id: str, column: str) -> Text:
        batch = self.book.batches.get(batch_id)
        if batch is None:
            return Text("")
        now = self.book.clock.now()
        if column == "age":
            return cells.age_text(batch, now)
        if column == "deadline":
            return cells.deadline_text(batch, now, self.palette, self.warning_hours, self.critical_hours)
        eta = self.book.eta(batch) if batch.is_active else None
        return cells.eta_text(batch, eta, now, self.palette)

    def tick(self) -> None:
        """Once a second: live cells, and every row in view again if indexed results changed since they
        were drawn (costs, unusable marks: an ingest or a recheck in a thread)."""
        version = self.book.results_version
        if version != self._results_seen:
            self._results_seen = version
            self._static_memo.clear()
            self.refresh_rows()
        super().tick()

    # -- updates in place ------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        return self.cursor_key

    def shows(self, batch: Batch) -> bool:
        return self.book.matches(batch, self.filter_text, self.quick_filter)

    def apply(self, changed: Iterable[Batch], removed: Iterable[str] = ()) -> None:
        """Bring rows in line with changed batches (already in the book): changed rows drawn again, new
        ones listed, filtered-out ones dropped, rows moved if their sort key changed. The cursor stays on
        the batch it was on."""
        changed = list(changed)
        removed = list(removed)
        for batch in changed:
            self._static_memo.pop(batch.id, None)  # cost or label may have changed with the same state
        for batch_id in removed:
            self._static_memo.pop(batch_id, None)
        self._show_label_column()
        if len(changed) + len(removed) > BULK_CHANGE or not self.row_count:
            self.refilter()
            self.tick()
            return
        relist = any(self.has_row(batch_id) for batch_id in removed)
        updated = []
        for batch in changed:
            shown = self.has_row(batch.id)
            if shown != self.shows(batch):
                relist = True
            elif shown:
                updated.append(batch.id)
        self.book.ordered(self.sort_mode)  # brings the order up to date: did a row move?
        if relist or self.book.order_version != self._order_seen:
            self.refilter()
        else:
            self.update_rows(updated)
        self.tick()

    def update_label(self, batch_id: str) -> None:
        self._static_memo.pop(batch_id, None)
        self._show_label_column()
        if self.filter_text:
            self.refilter()  # the label may make it match, or not
        elif self.has_row(batch_id):
            self.update_rows([batch_id])

    def _show_label_column(self) -> None:
        batches = self.book.batches
        self.set_column_hidden("label", not any(b in batches for b in self.book.labels))

    def refilter(self) -> None:
        """Show the batches that pass the filter now, in order; the cursor stays on its batch if it is
        still shown."""
        self.set_rows(self.book.filtered(self.sort_mode, self.filter_text, self.quick_filter))
        self._order_seen = self.book.order_version

    def set_sort(self, mode: SortMode) -> None:
        self.sort_mode = mode
        self.refilter()
