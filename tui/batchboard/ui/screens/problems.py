"""Error triage for one batch: result groups (errored by error type, canceled, expired, and succeeded for spot
checks) with counts and a retryable marker, then the items of a group, then one item in the inspector.

Everything shown comes from the local results index (index range scans, never a full scan), so a group of
100,000 items opens as fast as a group of ten. custom_ids and error messages are untrusted: they go in as
`rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from batchboard.core.format import human_int
from batchboard.core.results import GroupKey, ResultGroup, ResultItem, ResultsIndex, Retryability
from batchboard.ui.screens.inspector import InspectorScreen, RequestLookup

PAGE_SIZE = 200
#: The first page only needs to fill the screen: the rest of it follows as the cursor moves.
FIRST_PAGE = 60
#: Load the next page when the cursor comes this close to the last loaded row.
PAGE_AHEAD = 20
MESSAGE_WIDTH = 200

_MARKERS = {
    Retryability.RETRYABLE: "↻ retryable",
    Retryability.NEEDS_FIX: "✎ needs a fix",
    Retryability.ON_REQUEST: "↻ on request",
    Retryability.NOT_APPLICABLE: "",
}


def group_title(group: ResultGroup) -> str:
    key = group.key
    if key.result_type == "errored":
        return key.error_type
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


def _one_line(value: str | None, width: int = MESSAGE_WIDTH) -> str:
    if not value:
        return ""
    flat = " ".join(value.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class ProblemsScreen(Screen[None]):
    """A batch's results by group, then items; `enter` inspects one item."""

    CSS_PATH = "../results.tcss"
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
        self.items: dict[str, ResultItem] = {}
        self._initial_group = initial_group
        self._last: ResultItem | None = None
        self._exhausted = True
        self._filter = ""
        self._on_group_changed = on_group_changed

    def compose(self) -> ComposeResult:
        yield Static(id="problems-title")
        with Horizontal(id="problems-body"):
            yield OptionList(id="problems-groups")
            with Vertical(id="problems-right"):
                yield Input(placeholder="filter by custom_id", id="problems-filter")
                yield DataTable(id="problems-items", cursor_type="row", zebra_stripes=True)
                yield Static(id="problems-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#problems-items", DataTable)
        table.add_column("custom_id", key="custom_id")
        table.add_column("kind", key="kind")
        table.add_column("detail", key="detail")
        self.groups = self.index.groups(self.batch_id)
        title = Text("Results of ")
        title.append(self.batch_id, style="bold")
        problems = sum(g.count for g in self.groups if g.is_problem)
        total = sum(g.count for g in self.groups)
        title.append(f"  ·  {human_int(problems)} problems of {human_int(total)}")
        self.query_one("#problems-title", Static).update(title)
        option_list = self.query_one("#problems-groups", OptionList)
        option_list.add_options([Option(group_label(g), id=_group_id(g.key)) for g in self.groups])
        if not self.groups:
            self.query_one("#problems-status", Static).update(
                Text("No results indexed for this batch yet: press d on the dashboard to download them.")
            )
            return
        start = 0
        if self._initial_group is not None:
            start = next((i for i, g in enumerate(self.groups) if g.key == self._initial_group), 0)
        option_list.highlighted = start
        self.show_group(self.groups[start])
        table.focus()

    # -------------------------------------------------------------------------------------- loading

    def show_group(self, group: ResultGroup) -> None:
        self.group = group
        self._reload()
        if self._on_group_changed is not None:
            self._on_group_changed(group)

    def _reload(self) -> None:
        table = self.query_one("#problems-items", DataTable)
        table.clear()
        self.items = {}
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
        table = self.query_one("#problems-items", DataTable)
        for item in page:
            key = str(item.line)
            self.items[key] = item
            table.add_row(Text(item.custom_id, no_wrap=True), *self._cells(item), key=key)

    @staticmethod
    def _cells(item: ResultItem) -> tuple[Text, Text]:
        if item.result_type == "errored" or item.result_type == "invalid":
            return Text(item.error_type), Text(_one_line(item.error_message), no_wrap=True)
        if item.result_type == "succeeded":
            detail = f"{item.model or '?'}  ·  {human_int(item.tokens.output)} output tokens"
            return Text(item.stop_reason or ""), Text(detail, no_wrap=True)
        return Text(item.result_type), Text("")

    def _update_status(self) -> None:
        status = self.query_one("#problems-status", Static)
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
            text.append(f"  ·  {human_int(self.group.count)} items")
        marker = _MARKERS[self.group.retryability]
        if marker:
            text.append(f"  ·  {marker}")
        sample = self.group.sample_message
        if sample and self.group.key.result_type == "errored":
            text.append("  ·  e.g. ")
            text.append(_one_line(sample, 120))
        status.update(text)

    # ------------------------------------------------------------------------------------- handlers

    @on(OptionList.OptionHighlighted, "#problems-groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        if 0 <= index < len(self.groups) and self.groups[index] is not self.group:
            self.show_group(self.groups[index])

    @on(OptionList.OptionSelected, "#problems-groups")
    def _group_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#problems-items", DataTable).focus()

    @on(Input.Changed, "#problems-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip()
        self._reload()

    @on(Input.Submitted, "#problems-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#problems-items", DataTable).focus()

    @on(DataTable.RowHighlighted, "#problems-items")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if not self._exhausted and event.cursor_row >= table.row_count - PAGE_AHEAD:
            self._load_page()
            self._update_status()

    @on(DataTable.RowSelected, "#problems-items")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.inspect(event.row_key.value)

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
        table = self.query_one("#problems-items", DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.inspect(row_key.value)

    def action_back(self) -> None:
        filter_input = self.query_one("#problems-filter", Input)
        if filter_input.has_focus:
            self.query_one("#problems-items", DataTable).focus()
            return
        self.dismiss(None)

    def action_focus_filter(self) -> None:
        self.query_one("#problems-filter", Input).focus()

    def _move_group(self, step: int) -> None:
        if not self.groups:
            return
        current = self.groups.index(self.group) if self.group in self.groups else 0
        target = (current + step) % len(self.groups)
        self.query_one("#problems-groups", OptionList).highlighted = target
        self.show_group(self.groups[target])

    def action_next_group(self) -> None:
        self._move_group(1)

    def action_previous_group(self) -> None:
        self._move_group(-1)


def _group_id(key: GroupKey) -> str:
    return f"{key.result_type}:{key.error_type}"
