"""One batch in full: every field and timestamp, counts as a bar, elapsed time, ETA and countdowns, cost,
and lineage (the file it was submitted from, the batch it retries, its own retries).

Redrawn from the book once a second and whenever the controller says something changed (it is a
`BatchView`); lineage is read from the store in a thread worker then. Its keys ask the controller.
Everything from the API or the user goes in as rich Text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from batchboard.core import format as fmt
from batchboard.core.models import Batch
from batchboard.ui import cells, results_actions
from batchboard.ui.palette import Palette
from batchboard.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from batchboard.core.jobs import Origin
    from batchboard.core.store import Store
    from batchboard.ui.controller import Controller

DETAIL_BAR_WIDTH = 60
#: The names column and the gap after it; the padding of the scroll area and its scrollbar.
NAMES_WIDTH = 22 + 2
FRAME_WIDTH = 4 + 2


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back", id="detail.back"),
        Binding("c", "cancel_batch", "Cancel", tooltip="Cancel this batch", id="detail.cancel"),
        Binding("l", "set_label", "Label", tooltip="Label this batch", id="detail.label"),
        Binding("r", "refresh", "Refresh", tooltip="Poll the API now", id="detail.refresh"),
        Binding("e", "problems", "Errors", tooltip="Errors and results of this batch", id="detail.problems"),
        Binding("d", "download", "Download", tooltip="Download this batch's results", id="detail.download"),
        Binding("R", "retry", "Retry", tooltip="Resend this batch's failed items", id="detail.retry"),
        Binding("J", "job", "Job", tooltip="This batch and all its retries as one job", id="detail.job"),
        Binding(
            "a",
            "attach",
            "Attach",
            tooltip="Link the source file of this batch (sent elsewhere), so R can retry it",
            id="detail.attach",
        ),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = (
        "app.pop_screen",
        "problems",
        "retry",
        "cancel_batch",
        "set_label",
        "download",
        "refresh",
        "job",
        "attach",
    )

    def __init__(self, controller: Controller, batch_id: str) -> None:
        super().__init__()
        self.controller = controller
        self.book = controller.book
        self.batch_id = batch_id
        self.lineage: Lineage | None = None
        """Where the batch came from and its chain; None until read from the store."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-body")
        yield KeyFooter()

    def on_resize(self) -> None:
        self.redraw()  # the bar takes the width there is

    def on_mount(self) -> None:
        # The first frame is complete: lineage is a few indexed lookups. Later updates read it in a thread.
        self.lineage = read_lineage(self.book.store, self.batch_id)
        self.redraw()
        self.set_interval(1.0, self.redraw)
        # Opening an ended batch fetches its results (once, in a thread), so its cost shows up here.
        self.controller.fetch_when_viewed(self.batch_id)

    @property
    def current(self) -> Batch | None:
        return self.book.batches.get(self.batch_id)

    def why_not(self, action: str) -> str | None:
        """Why `action` does not apply now (None when it does): the same rules as on the table."""
        return self.controller.why_not(action, self.batch_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.why_not(action) is None

    def action_attach(self) -> None:
        self.controller.open_attach(self.batch_id)

    def action_retry(self) -> None:
        self.controller.request_retry(self.batch_id)

    def action_job(self) -> None:
        self.controller.open_job(self.batch_id)

    def action_problems(self) -> None:
        self.controller.open_problems(self.batch_id)

    def action_download(self) -> None:
        self.controller.open_download(self.batch_id)

    def action_cancel_batch(self) -> None:
        self.controller.request_cancel(self.batch_id)

    def action_set_label(self) -> None:
        self.controller.request_label(self.batch_id)

    def action_refresh(self) -> None:
        self.controller.refresh()

    # -- what the controller tells (a `BatchView`) -------------------------------------------------

    def batches_changed(self, changed: Sequence[Batch], removed: Set[str]) -> None:
        self.refresh_view()

    def labels_changed(self, batch_ids: Collection[str]) -> None:
        if self.batch_id in batch_ids:
            self.redraw()

    def state_changed(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        """New data (a poll round, a label, a retry sent): read the lineage again, and redraw."""
        self.load_lineage()
        self.redraw()

    @work(thread=True, exclusive=True, group="lineage", exit_on_error=False)
    def load_lineage(self) -> None:
        # In a thread: the store is shared with results ingestion, which may hold it for a while.
        self.app.call_from_thread(self._lineage_loaded, read_lineage(self.book.store, self.batch_id))

    def _lineage_loaded(self, lineage: Lineage) -> None:
        if lineage != self.lineage:
            self.lineage = lineage
            self.redraw()

    def redraw(self) -> None:
        batch = self.current
        body = self.query_one("#detail-body", Static)
        if batch is None:
            body.update(Text(f"Batch {self.batch_id} is no longer listed by the API."))
            return
        body.update(self.render_batch(batch))
        self.refresh_bindings()

    def render_batch(self, batch: Batch) -> RenderableType:
        now = self.book.clock.now()
        palette = Palette.from_variables(self.app.theme_variables)
        settings = self.controller.settings
        c = batch.counts

        def section(title: str) -> Text:
            return Text(f"\n{title}", style="bold")

        def grid() -> Table:
            table = Table.grid(padding=(0, 2))
            table.add_column(style=palette.muted, min_width=NAMES_WIDTH - 2)
            # Values wrap, and a word longer than the line (a URL, an id) folds: nothing is cut.
            table.add_column(overflow="fold")
            return table

        head = Text.assemble(
            Text("Batch ", style="bold"),
            Text(batch.id, style="bold"),
            "  ",
            cells.status_text(batch, palette),
        )
        label = self.book.label(batch.id)

        about = grid()
        about.add_row("Label", Text(label) if label else Text("— (press l to set one)", style=palette.muted))
        about.add_row("Processing status", Text(batch.processing_status))
        about.add_row("Outcome", cells.status_text(batch, palette))
        about.add_row("Results URL", Text(batch.results_url or fmt.DASH))

        counts = grid()
        counts.add_row("Requests", Text(fmt.human_int(c.total)))
        unusable = self.book.unusable(batch.id)
        # Whole at 80 columns (its marks are at its end), wider as the width allows.
        bar_width = max(12, min(DETAIL_BAR_WIDTH, self.size.width - FRAME_WIDTH - NAMES_WIDTH))
        counts.add_row("", cells.bar_text(batch, bar_width, palette, sum(unusable.values())))
        counts.add_row("Processing", Text(fmt.human_int(c.processing)))
        counts.add_row("Succeeded", cells.succeeded_text(c.succeeded, unusable, palette))
        counts.add_row("Errored", Text(fmt.human_int(c.errored), style=palette.error))
        counts.add_row("Canceled", Text(fmt.human_int(c.canceled)))
        counts.add_row("Expired", Text(fmt.human_int(c.expired), style=palette.warning))

        times = grid()
        times.add_row(
            "Created", Text(f"{fmt.timestamp(batch.created_at)}  ({fmt.age(now - batch.created_at)} ago)")
        )
        times.add_row("Expires", Text(fmt.timestamp(batch.expires_at)))
        times.add_row("Ended", Text(fmt.timestamp(batch.ended_at)))
        times.add_row("Cancel initiated", Text(fmt.timestamp(batch.cancel_initiated_at)))
        times.add_row("Archived", Text(fmt.timestamp(batch.archived_at)))
        times.add_row("Elapsed", Text(cells.elapsed_text(batch, now)))
        if batch.is_active:
            eta = self.book.eta(batch)
            if eta.low is None and not eta.overdue:
                eta_line = Text(f"not enough history ({eta.reason})", style=palette.muted)
            else:
                eta_line = Text(
                    f"{fmt.eta_range(eta, now)} (from {fmt.plural(eta.samples, 'past batch')} "
                    "of similar size)"
                )
            times.add_row("ETA", eta_line)
            times.add_row(
                "Expiry",
                cells.deadline_text(
                    batch, now, palette, settings.expiry_warning_hours, settings.expiry_critical_hours
                ),
            )
        if batch.is_archived(now):
            times.add_row("Results retention", Text("archived: results are no longer downloadable"))
        else:
            times.add_row(
                "Results retention",
                Text(
                    f"{fmt.countdown(batch.retention_ends_at - now)} left "
                    f"(until {fmt.timestamp(batch.retention_ends_at)})"
                ),
            )

        cost = grid()
        # As the table says it: "no price" / "$x+?" when a model has no price (a dash would read "not yet").
        cost.add_row("Cost (batch price)", Text(self.book.cost_text(batch.id)))
        cost.add_row("Saved vs standard", Text(self.book.savings_text(batch.id)))
        for name, value in results_actions.cost_breakdown(self.book.results, batch.id):
            cost.add_row(name, value)

        lineage = self.render_lineage(grid(), palette)

        return Group(
            head,
            section("About"),
            about,
            section("Requests"),
            counts,
            section("Time"),
            times,
            section("Cost"),
            cost,
            section("Lineage"),
            lineage,
        )

    def render_lineage(self, table: Table, palette: Palette) -> Table:
        """Submitted from which file, retry of which batch, its retries, and the whole chain."""
        found = self.lineage
        if found is None:
            table.add_row("Submitted from", Text("…", style=palette.muted))
            return table
        origin = found.origin
        if origin.kind == "file":
            source = Text(origin.source_path or fmt.DASH)
        elif origin.kind == "retry":
            source = Text("a retry: the stored requests of its parent's failed items")
        elif origin.kind == "chat":
            source = Text("the chat pane: its last request sent again as a batch, to compare")
        elif origin.kind == "attach":
            source = Text.assemble("sent elsewhere; requests linked from ", Text(origin.source_path or "?"))
        else:
            source = Text("— (not sent by batchboard: press a to link its file)", style=palette.muted)
        table.add_row("Submitted from", source)
        if found.recovery:
            table.add_row(
                "Recovered",
                Text(found.recovery, style=palette.warning if "unverified" in found.recovery else ""),
            )
        table.add_row("Retry of", Text(origin.parent_batch_id or fmt.DASH))
        table.add_row("Retries", Text(", ".join(origin.retries) if origin.retries else fmt.DASH))
        if len(found.chain) > 1:
            line = Text()
            for position, member in enumerate(found.chain):
                if position:
                    line.append(" → ", style=palette.muted)
                line.append(member, style="bold" if member == self.batch_id else "")
            table.add_row("Chain (oldest first)", line)
            table.add_row("", Text("J: the job view (latest outcome per custom_id)", style=palette.muted))
        return table


@dataclass(frozen=True, slots=True)
class Lineage:
    origin: Origin
    chain: tuple[str, ...]
    recovery: str | None = None
    """"recovered, unverified (...)" for a batch found after its create answer was lost."""


def read_lineage(store: Store, batch_id: str) -> Lineage:
    from batchboard.core.jobs import chain, origin
    from batchboard.core.submit.recovery import recovery_state

    return Lineage(origin(store, batch_id), tuple(chain(store, batch_id)), recovery_state(store, batch_id))
