"""The job view: a batch and all its retries as one job, each custom_id counted once by its latest outcome,
with the chain of batches and the cost across it. Built from the local results index and submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from batchboard.core.format import plural
from batchboard.core.store import Store
from batchboard.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from batchboard.core.jobs import Job


class JobScreen(ModalScreen[None]):
    """Read-only; `escape` goes back. Batches whose results are not downloaded are listed as such."""

    DEFAULT_CSS = """
    JobScreen { align: center middle; }
    JobScreen > Vertical {
        width: 90%; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    JobScreen #job { height: 1fr; }
    JobScreen .muted { color: $text-muted; }
    JobScreen.-narrow > Vertical { width: 100%; }
    JobScreen.-short > Vertical { height: 100%; border: none; }
    """
    # Under 100 columns or 32 rows the view takes the whole terminal, as submit's does.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Back", id="job.back")]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("dismiss(None)",)

    def __init__(self, store: Store, batch_id: str) -> None:
        super().__init__()
        self.store = store
        self.batch_id = batch_id
        self.job: Job | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.from_markup("[b]Job of $id[/b]", id=self.batch_id), id="title")
            yield VerticalScroll(Static(Content("Loading…"), classes="muted"), id="job")
        yield KeyFooter()  # escape goes back; ? lists the keys, as on the other screens

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="job", exit_on_error=False)
    def load(self) -> None:
        from batchboard.core.jobs import job, parent_of

        current = job(self.store, self.batch_id)
        parents = {member: parent_of(self.store, member) for member in current.batch_ids}
        self.app.call_from_thread(self.show, current, parents)

    def show(self, current: Job, parents: dict[str, str | None]) -> None:
        self.job = current
        lines: list[Static] = []
        for member in current.batch_ids:
            parent = parents.get(member)
            role = f"retry of {parent}" if parent else "original"
            missing = "  (results not downloaded)" if member in current.without_results else ""
            lines.append(Static(Content(f"{member}  {role}{missing}")))
        totals = ", ".join(f"{count:,} {kind}" for kind, count in current.totals.most_common()) or "none yet"
        lines += [
            Static(
                Content(
                    f"{plural(len(current.latest), 'request')}, {current.done:,} done (a usable answer); "
                    f"latest outcomes: {totals}"
                )
            ),
            Static(
                Content(
                    f"cost across the chain: ${current.cost_batch:,.4f} at batch price "
                    f"(${current.cost_standard:,.4f} at standard price)"
                )
            ),
        ]
        container = self.query_one("#job", VerticalScroll)
        container.remove_children()
        container.mount_all(lines)
