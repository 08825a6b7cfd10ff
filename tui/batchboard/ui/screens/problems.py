"""Error triage for one batch: result groups (errored by error type, canceled, expired, and succeeded for spot
checks) with counts and a retryable marker, then the items of a group, then one item in the inspector.

Everything shown comes from the local results index (index range scans, never a full scan), so a group of
100,000 items opens as fast as a group of ten. custom_ids and error messages are untrusted: they go in as
`rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import AwaitMount
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.data_table import RowKey
from textual.widgets.option_list import Option

from batchboard.core.format import human_int, printable
from batchboard.core.results.index import GroupKey, ResultGroup, ResultItem, ResultsIndex, Retryability
from batchboard.ui.screens.inspector import InspectorScreen, RequestLookup

PAGE_SIZE = 200
#: The first page only needs to fill the screen: the rest of it follows as the cursor moves.
FIRST_PAGE = 60
#: Load the next page when the cursor comes this close to the last loaded row.
PAGE_AHEAD = 20
MESSAGE_WIDTH = 200
#: Column widths of the items table (a custom_id is at most 64 characters; longer ones end in an ellipsis).
CUSTOM_ID_WIDTH = 24
KIND_WIDTH = 22

_MARKERS = {
    Retryability.RETRYABLE: "↻ retryable",
    Retryability.NEEDS_FIX: "✎ needs a fix",
    Retryability.ON_REQUEST: "↻ on request",
    Retryability.NOT_APPLICABLE: "",
}


def group_title(group: ResultGroup) -> str:
    key = group.key
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


class ItemsTable(DataTable[Text]):
    """The items of a group: a DataTable whose one-line `Text` cells are drawn straight to segments.

    DataTable renders every cell through Rich's `Padding` and `Styled` renderables and `render_lines`; for a
    one-line cell that machinery is most of the cost of a screen's first paint (about half of it for a
    50-row page here). This draws the same segments directly: the text cropped to the column with
    Rich's own truncation, one padding cell either side, the same pre/post styles. Anything else
    (headers, multi-line cells) takes DataTable's path. Textual is pinned, so the private hooks are stable.
    """

    _frame_styles: dict[Any, Style] | None = None
    #: The columns' render widths, and the blank that fills the rest of a line, for the frame being drawn.
    _frame_widths: tuple[list[int], int] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles that DataTable looks up (walking the DOM) once per line are the same for a whole frame.
        self._frame_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = self._frame_widths = None

    @property
    def rich_style(self) -> Style:
        styles = self._frame_styles
        if styles is None:
            return super().rich_style
        style = styles.get(None)
        if style is None:
            style = styles[None] = super().rich_style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        styles = self._frame_styles
        if styles is None or row_index < self.fixed_rows:
            return super()._get_row_style(row_index, base_style)
        key = (row_index % 2 if self.zebra_stripes else -2, base_style)
        style = styles.get(key)
        if style is None:
            style = styles[key] = super()._get_row_style(row_index, base_style)
        return style

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row (on idle, before the first frame). That only serves
        # auto-width columns, row labels and auto-height rows, none of which this table has: skipping it
        # saves a sixth of the first frame. The virtual size is worked out as DataTable does.
        new_rows = list(new_rows)
        rows = self.rows
        if any(column.auto_width for column in self.columns.values()) or any(
            (row := rows.get(key)) is not None and (row.label is not None or row.auto_height)
            for key in new_rows
        ):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(width + self._row_label_column_width, self._total_row_height + header_height)

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        # DataTable's own method, for a body row of a row-cursor table without labels or fixed columns:
        # what is the same for every line of the frame (the header's style, which this case never uses,
        # costs as much as a whole row) is worked out once per frame.
        if (
            self._frame_styles is None
            or row_key is self._header_row_key
            or self.fixed_columns
            or self._should_render_row_labels
            or self.cursor_type != "row"
        ):
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            self.cursor_type,
            self.show_cursor,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        if self._frame_widths is None:
            column_widths = [column.get_render_width(self) for column in self.ordered_columns]
            self._frame_widths = (column_widths, max(0, self.size.width - sum(column_widths)))
        widths, remaining = self._frame_widths
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            row_index = -1
        row_style = self._get_row_style(row_index, base_style)
        cursor = row_index == cursor_location.row
        hover = row_index == hover_location.row
        scrollable_row = [
            self._render_cell(row_index, column_index, row_style, width, cursor=cursor, hover=hover)[line_no]
            for column_index, width in enumerate(widths)
        ]
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1,
            False,
            False,
            (row_index or 0) == hover_location.row,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            False,
            False,
        )
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining, extend_style)])
        row_pair: tuple[list[list[Segment]], list[list[Segment]]] = ([], scrollable_row)
        self._row_render_cache[cache_key] = row_pair
        return row_pair

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        if row_index < 0 or column_index < 0 or self.fixed_rows or self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        cell = self._data[row_key][column_key]
        padding = self.cell_padding
        inner = width - 2 * padding
        if type(cell) is not Text or self.rows[row_key].height != 1 or inner <= 0 or "\n" in cell.plain:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        line = cell.copy()
        line.end = ""
        line.truncate(inner, overflow=cell.overflow or "fold", pad=True)
        if line.style:  # as Text.join does when Rich renders a cell: the base style goes under the spans
            line.spans = [Span(0, len(line), line.style), *line.spans]
            line.style = ""
        segments = [Segment(" " * padding), *line.render(self.app.console), Segment(" " * padding)]
        lines = [list(Segment.apply_style(segments, pre_style, post_style or None))]
        self._cell_render_cache[cache_key] = lines
        return lines


class LateFooter(Footer):
    """A Footer mounted after its screen: it shows the bindings at once, not at the next change of focus."""

    def on_mount(self) -> None:
        self.bindings_changed(self.screen)


def _one_line(value: str | None, width: int = MESSAGE_WIDTH) -> str:
    if not value:
        return ""
    flat = printable(" ".join(value.split()))
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
        self.table = ItemsTable(
            id="problems-items", classes="-first-frame", cursor_type="row", zebra_stripes=True
        )
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
                LateFooter(),
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
        # Fixed widths: no cell needs measuring when rows are added (see ItemsTable._update_dimensions).
        table.add_column("custom_id", key="custom_id", width=CUSTOM_ID_WIDTH)
        table.add_column("kind", key="kind", width=KIND_WIDTH)
        table.add_column("detail", key="detail", width=MESSAGE_WIDTH)
        self.call_after_refresh(self._mount_rest)
        self.groups = self.index.groups(self.batch_id)
        title = Text("Results of ")
        title.append(self.batch_id, style="bold")
        problems = sum(g.count for g in self.groups if g.is_problem)
        total = sum(g.count for g in self.groups)
        title.append(f"  ·  {human_int(problems)} problems of {human_int(total)}")
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

    def _reload(self) -> None:
        self.table.clear()
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
        table = self.table
        for item in page:
            key = str(item.line)
            self.items[key] = item
            table.add_row(
                Text(printable(item.custom_id), no_wrap=True, overflow="ellipsis"),
                *self._cells(item),
                key=key,
            )

    @staticmethod
    def _cells(item: ResultItem) -> tuple[Text, Text]:
        if item.result_type == "errored" or item.result_type == "invalid":
            return (
                Text(printable(item.error_type), overflow="ellipsis"),
                Text(_one_line(item.error_message), no_wrap=True),
            )
        if item.result_type == "succeeded":
            detail = f"{item.model or '?'}  ·  {human_int(item.tokens.output)} output tokens"
            return Text(item.stop_reason or ""), Text(detail, no_wrap=True)
        return Text(item.result_type), Text("")

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
            text.append(f"  ·  {human_int(self.group.count)} items")
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
        table = self.table
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.inspect(row_key.value)

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
    return f"{key.result_type}:{key.error_type}"
