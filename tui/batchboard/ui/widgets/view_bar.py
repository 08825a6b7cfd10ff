"""The line under the header: the table's sort, its filters, how many rows it shows, and background work.

Fitted to the width as the header is: the words shorten first ("sort: created" to "by created"), then
the background activity drops, then a typed filter shortens with `…`; the row count ("3 of 17") and a
quick filter other than "all" stay, since they say that rows are hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content

from batchboard.core import format as fmt
from batchboard.ui.cells import shorten
from batchboard.ui.widgets.summary import Part, fit_parts
from batchboard.ui.widgets.text_line import TextLine

#: Which part gives way next while the line is too wide.
GIVE_WAY = ("sort", "quick", "activity", "text", "count", "sort", "quick")
FILTER_SHORT = 12
"""Cells a typed filter keeps (quotes aside) when the line has no room for all of it."""


@dataclass(frozen=True, slots=True)
class ViewState:
    sort: str
    quick: str
    filter_text: str
    shown: int
    total: int
    activity: str | None = None


class ViewBar(TextLine):
    """Sort order, filters and how many rows are shown; background work, if any."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: ViewState | None = None

    def show(self, state: ViewState) -> None:
        self.state = state
        self.show_line(self.line(state, self.content_size.width))

    def on_resize(self, event: events.Resize) -> None:
        if self.state is not None:
            self.show_line(self.line(self.state, self.content_size.width))

    @staticmethod
    def line(state: ViewState, width: int) -> Content:
        """The bar's text fitted to `width` cells (0: not laid out yet, nothing shortened)."""
        bold = "[b]$v[/b]"
        parts: dict[str, Part] = {
            "sort": Part(
                [
                    Content.from_markup(f"sort: {bold}", v=state.sort),
                    Content.from_markup(f"by {bold}", v=state.sort),
                    None,
                ]
            ),
            "quick": Part(
                [
                    Content.from_markup(f"showing: {bold}", v=state.quick),
                    Content.from_markup(bold, v=state.quick),
                    *([None] if state.quick == "all" else []),
                ]
            ),
        }
        if state.filter_text:
            typed = fmt.printable(state.filter_text)  # typed or pasted: control characters shown, not run
            parts["text"] = Part(
                [
                    Content.from_markup("matching “$v”", v=typed),
                    Content.from_markup("“$v”", v=shorten(typed, FILTER_SHORT)),
                ]
            )
        shown, total = fmt.human_int(state.shown), fmt.human_int(state.total)
        parts["count"] = Part(
            [
                Content.from_markup(
                    "$s of $t $batches",
                    s=shown,
                    t=total,
                    batches=fmt.plural(state.total, "batch", number=False),
                ),
                Content.from_markup("$s of $t", s=shown, t=total),
            ]
        )
        if state.activity:
            parts["activity"] = Part([Content.styled(state.activity, "$text-muted"), None])
        return fit_parts(parts, width, GIVE_WAY)
