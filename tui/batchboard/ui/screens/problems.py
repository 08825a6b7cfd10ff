"""Error triage for one batch: result groups (errored by error type, canceled, expired, the succeeded answers
that are unusable: truncated, invalid output, refused; and the usable ones for spot checks) with counts and a
retryable marker, then the items of a group, then one item in the inspector.

Everything shown comes from the local results index (index range scans, never a full scan), so a group of
100,000 items opens as fast as a group of ten. custom_ids and error messages are untrusted: they go in as
`rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import AwaitMount
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from batchboard.core.format import human_int, plural, printable
from batchboard.core.results.index import GroupKey, ResultGroup, ResultItem, ResultsIndex, Retryability
from batchboard.ui.cells import shorten
from batchboard.ui.screens.inspector import InspectorScreen, RequestLookup
from batchboard.ui.widgets.key_footer import KeyFooter
from batchboard.ui.widgets.table_layout import Column
from batchboard.ui.widgets.virtual_table import VirtualTable

PAGE_SIZE = 200
#: The first page only needs to fill the screen: the rest of it follows as the cursor moves.
FIRST_PAGE = 60
#: Load the next page when the cursor comes this close to the last loaded row.
PAGE_AHEAD = 20
#: The longest message kept for a row (the inspector shows it whole).
MESSAGE_WIDTH = 200
#: Column widths of the items table when there is room (a custom_id is at most 64 characters; longer ones,
#: and anything cut to fit, end in an ellipsis).
CUSTOM_ID_WIDTH = 32
KIND_WIDTH = 22
DETAIL_WIDTH = 56
#: A custom_id up to this long is never cut to make room (the message is cut first, then the kind goes).
CUSTOM_ID_KEPT = 24

_MARKERS = {
    Retryability.RETRYABLE: "↻ retryable",
    Retryability.NEEDS_FIX: "✎ needs a fix",
    Retryability.ON_REQUEST: "↻ on request",
    Retryability.NOT_APPLICABLE: "",
}


#: The triage titles of the classes of succeeded but unusable answers.
UNUSABLE_TITLES = {"truncated": "✂ truncated", "invalid_output": "{} invalid output", "refused": "⊘ refused"}


def group_title(group: ResultGroup) -> str:
    key = group.key
    if key.unusable:
        return UNUSABLE_TITLES.get(key.unusable, printable(key.unusable))
    if key.result_type == "errored":
        return printable(key.error_type)  # from the results file: untrusted
    if key.result_type == "invalid":
        return "unreadable lines"
    return key.result_type


def group_label(group: ResultGroup) -> Text:
    """One line of the group list: name, count, retryability (all plain text: error types are untrusted)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(group_title(group), style="bold" if group.is_problem else "")
    text.append(f"  {human_int(group.count)}")
    marker = _MARKERS[group.retryability]
    if marker:
        text.append(f"  {marker}", style="dim" if group.retryability is not Retryability.RETRYABLE else "")
    return text


def item_columns(longest: Mapping[str, int]) -> tuple[Column, ...]:
    """The items table's columns, as wide as the loaded items' longest texts (`longest`, by column) within
    bounds. The custom_id stays at the left; the message has the first claim on the width and takes what
    is spare; the kind (the group's title already says it for errors) goes first when narrow and is
    reached by scrolling sideways. At 80 columns a row is its custom_id (whole up to `CUSTOM_ID_KEPT`)
    and the message."""

    def wanted(key: str, least: int, most: int) -> int:
        return max(least, min(longest.get(key, 0), most))

    return (
        Column(
            "custom_id",
            "custom_id",
            wanted("custom_id", 12, CUSTOM_ID_WIDTH),
            min_width=min(wanted("custom_id", 12, CUSTOM_ID_WIDTH), CUSTOM_ID_KEPT),
            priority=3,
            frozen=True,
        ),
        Column("kind", "kind", wanted("kind", 4, KIND_WIDTH), priority=2),
        Column("detail", "detail", wanted("detail", 16, DETAIL_WIDTH), min_width=16, priority=1, flex=True),
    )


class ItemsTable(VirtualTable):
    """The loaded items of a group, by their line in the results file; cells drawn from the items as the
    rows come on screen, columns sized to the loaded items' texts (measured once per page)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(item_columns({}), self.render_cell, zebra_stripes=True, id=id, classes=classes)
        self.items: dict[str, ResultItem] = {}
        """The items shown, by row key (the item's line number)."""
        self._cells: dict[str, dict[str, Text]] = {}  # made once per item, as it is measured
        self._longest: dict[str, int] = {}

    def add_items(self, items: Iterable[ResultItem]) -> None:
        """Rows for these items, after the ones shown."""
        keys = []
        longest = dict(self._longest)
        for item in items:
            key = str(item.line)
            self.items[key] = item
            keys.append(key)
            kind, detail = item_cells(item)
            cells = self._cells[key] = {
                "custom_id": Text(printable(item.custom_id)),
                "kind": kind,
                "detail": detail,
            }
            for column, text in cells.items():
                longest[column] = max(longest.get(column, 0), text.cell_len)
        self._longest = longest
        columns = item_columns(longest)
        if columns != self.columns:
            self.set_columns(columns)
        self.append_rows(keys)

    def clear(self) -> None:
        self.items = {}
        self._cells = {}
        self._longest = {}
        super().clear()

    def render_cell(self, key: str, column: str) -> Text:
        cells = self._cells.get(key)
        return cells[column] if cells is not None else Text("")


def item_cells(item: ResultItem) -> tuple[Text, Text]:
    """An item's kind and detail (all untrusted text from the results file: plain `Text`)."""
    if item.result_type == "errored" or item.result_type == "invalid":
        return Text(printable(item.error_type)), Text(_one_line(item.error_message))
    if item.result_type == "succeeded":
        detail = f"{item.model or '?'}  ·  {plural(item.tokens.output, 'output token')}"
        if item.unusable_detail:  # a schema violation (JSON path first), a refusal's reason: untrusted
            detail = f"{_one_line(item.unusable_detail)}  ·  {detail}"
        return Text(printable(item.stop_reason or "")), Text(printable(detail))
    return Text(item.result_type), Text("")


def _one_line(value: str | None, width: int = MESSAGE_WIDTH) -> str:
    if not value:
        return ""
    return shorten(printable(" ".join(value.split())), width)


class ProblemsScreen(Screen[None]):
    """A batch's results by group, then items; `enter` inspects one item."""

    CSS_PATH = "../results.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back (or leave the filter)", id="problems.back"),
        Binding(
            "slash", "focus_filter", "Filter", tooltip="Filter the items by custom_id", id="problems.filter"
        ),
        Binding(
            "right_square_bracket,n",
            "next_group",
            "Next group",
            tooltip="Show the next group",
            id="problems.next",
        ),
        Binding(
            "left_square_bracket,p",
            "previous_group",
            "Prev group",
            tooltip="Show the previous group",
            id="problems.previous",
        ),
        Binding("i", "inspect", "Inspect", tooltip="Open the highlighted item", id="problems.inspect"),
        Binding("R", "app.retry_batch", "Retry", tooltip="Resend the failed items", id="problems.retry"),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = (
        "back",
        "inspect",
        "app.retry_batch",
        "next_group",
        "previous_group",
        "focus_filter",
    )

    def __init__(
        self,
        index: ResultsIndex,
        batch_id: str,
        *,
        request_lookup: RequestLookup | None = None,
        initial_group: GroupKey | None = None,
        page_size: int = PAGE_SIZE,
        on_group_changed: Callable[[ResultGroup], None] | None = None,
    ) -> None:
        super().__init__()
        self.index = index
        self.batch_id = batch_id
        self.request_lookup = request_lookup
        self.page_size = page_size
        self.groups: list[ResultGroup] = []
        self.group: ResultGroup | None = None
        self.table = ItemsTable(id="problems-items", classes="-first-frame")
        self._initial_group = initial_group
        self._last: ResultItem | None = None
        self._exhausted = True
        self._filter = ""
        self._on_group_changed = on_group_changed
        self._title = Text()
        self._status = Text()
        self._group_list: OptionList | None = None
        self._status_line: Static | None = None
        self._rest: AwaitMount | None = None

    def compose(self) -> ComposeResult:
        # The first frame holds the items table alone: the title, group list, filter, status line and footer
        # are mounted right after it (`_mount_rest`). Each widget costs its mount, styling and painting,
        # and the rows are what the user opened the screen for. The `-first-frame` class holds their space
        # (results.tcss), so nothing moves when they arrive.
        yield self.table

    @property
    def gone(self) -> bool:
        """Popped already (possibly in the tick that pushed it): a callback arriving now has nothing to do."""
        return not self.is_attached or self not in self.app.screen_stack

    def _mount_rest(self) -> AwaitMount | None:
        """Mount everything but the table, once; None when the screen is gone."""
        if self._rest is not None or self.gone:
            return self._rest
        # Options added after construction, which would highlight (and so show) the first group.
        group_list = OptionList(id="problems-groups")
        group_list.add_options([Option(group_label(g), id=_group_id(g.key)) for g in self.groups])
        if self.group in self.groups:  # no watcher, no message: that group is on show already
            group_list.set_reactive(OptionList.highlighted, self.groups.index(self.group))
        self._group_list = group_list
        self._status_line = Static(self._status, id="problems-status")
        with self.app.batch_update():
            # Children are split off the screen's edges in this order; the table takes what is left.
            self._rest = self.mount(
                Static(self._title, id="problems-title"),
                KeyFooter(),
                group_list,
                Input(placeholder="filter by custom_id", id="problems-filter"),
                self._status_line,
                before=self.table,
            )
            self.table.remove_class("-first-frame")  # restyles the table alone
        return self._rest

    def on_mount(self) -> None:
        if self.gone:
            return
        table = self.table
        self.call_after_refresh(self._mount_rest)
        self.groups = self.index.groups(self.batch_id)
        title = Text("Results of ")
        title.append(self.batch_id, style="bold")
        problems = sum(g.count for g in self.groups if g.is_problem)
        total = sum(g.count for g in self.groups)
        title.append(f"  ·  {plural(problems, 'problem')} of {human_int(total)}")
        self._title = title
        if not self.groups:
            self._set_status(
                Text("No results indexed for this batch yet: press d on the dashboard to download them.")
            )
            return
        start = 0
        if self._initial_group is not None:
            start = next((i for i, g in enumerate(self.groups) if g.key == self._initial_group), 0)
        self.show_group(self.groups[start])
        table.focus()

    # -------------------------------------------------------------------------------------- loading

    def show_group(self, group: ResultGroup) -> None:
        self.group = group
        self._reload()
        if self._on_group_changed is not None:
            self._on_group_changed(group)

    @property
    def items(self) -> dict[str, ResultItem]:
        """The loaded items of the group on show, by row key."""
        return self.table.items

    def _reload(self) -> None:
        self.table.clear()
        self._last = None
        self._exhausted = False
        self._load_page()
        self._update_status()

    def _load_page(self) -> None:
        if self.group is None or self._exhausted:
            return
        limit = min(self.page_size, FIRST_PAGE) if self._last is None else self.page_size
        page = self.index.items(
            self.batch_id,
            self.group.key,
            contains=self._filter,
            after=self._last.cursor if self._last else None,
            limit=limit,
        )
        self._exhausted = len(page) < limit
        if not page:
            return
        self._last = page[-1]
        self.table.add_items(page)

    def _update_status(self) -> None:
        if self.group is None:
            return
        shown = len(self.items)
        more = "" if self._exhausted else "+"
        text = Text()
        text.append(group_title(self.group), style="bold")
        if self._filter:
            text.append(f"  ·  {human_int(shown)}{more} matching ")
            text.append(repr(self._filter))
        else:
            text.append(f"  ·  {plural(self.group.count, 'item')}")
        marker = _MARKERS[self.group.retryability]
        if marker:
            text.append(f"  ·  {marker}")
        sample = self.group.sample_message
        if sample and self.group.key.result_type == "errored":
            text.append("  ·  e.g. ")
            text.append(_one_line(sample, 120))
        self._set_status(text)

    def _set_status(self, text: Text) -> None:
        self._status = text
        if self._status_line is not None:
            self._status_line.update(text)

    # ------------------------------------------------------------------------------------- handlers

    @on(OptionList.OptionHighlighted, "#problems-groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        if 0 <= index < len(self.groups) and self.groups[index] is not self.group:
            self.show_group(self.groups[index])

    @on(OptionList.OptionSelected, "#problems-groups")
    def _group_selected(self, event: OptionList.OptionSelected) -> None:
        self.table.focus()

    @on(Input.Changed, "#problems-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip()
        self._reload()

    @on(Input.Submitted, "#problems-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    @on(ItemsTable.RowHighlighted, "#problems-items")
    def _row_highlighted(self, event: ItemsTable.RowHighlighted) -> None:
        if not self._exhausted and event.index >= event.table.row_count - PAGE_AHEAD:
            self._load_page()
            self._update_status()

    @on(ItemsTable.RowSelected, "#problems-items")
    def _row_selected(self, event: ItemsTable.RowSelected) -> None:
        self.inspect(event.key)

    # -------------------------------------------------------------------------------------- actions

    def inspect(self, key: str | None) -> None:
        item = self.items.get(key or "")
        if item is None:
            return
        request: Any = None
        if self.request_lookup is not None:
            request = self.request_lookup(self.batch_id, item.custom_id)
        self.app.push_screen(InspectorScreen(self.index, item, request))

    def action_inspect(self) -> None:
        self.inspect(self.table.cursor_key)

    def action_back(self) -> None:
        if any(f.has_focus for f in self.query("#problems-filter")):
            self.table.focus()
            return
        self.dismiss(None)

    async def action_focus_filter(self) -> None:
        mounting = self._mount_rest()  # `/` pressed before the first frame was drawn
        if mounting is None:  # gone
            return
        await mounting
        self.query_one("#problems-filter", Input).focus()

    def _move_group(self, step: int) -> None:
        if not self.groups:
            return
        current = self.groups.index(self.group) if self.group in self.groups else 0
        target = (current + step) % len(self.groups)
        group_list = self._group_list
        if group_list is not None and group_list.is_mounted:
            group_list.highlighted = target
        elif group_list is not None:
            group_list.set_reactive(OptionList.highlighted, target)
        self.show_group(self.groups[target])

    def action_next_group(self) -> None:
        self._move_group(1)

    def action_previous_group(self) -> None:
        self._move_group(-1)


def _group_id(key: GroupKey) -> str:
    return f"{key.result_type}:{key.error_type}:{key.unusable}"
