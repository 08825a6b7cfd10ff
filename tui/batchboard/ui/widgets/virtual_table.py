"""A table for any number of rows, drawn line by line from its own data (Textual's line API).

The table holds the row keys in order, a version per row, the column specs and a row cursor; the cells come
from a callback, `(row key, column key) -> rich Text`, asked only for the rows on screen. Rendered rows are
kept in an LRU of strips keyed by (row key, row version, cursor, layout): a row is drawn again only when it
is updated, when the cursor lands on or leaves it, or when the layout or the styles change. Nothing here
costs O(rows) per frame or per tick; ordering and filtering belong to whoever calls `set_rows`.

Columns adapt to the width: the frozen ones stay at the left, the others are laid out by priority while they
fit, spare width goes to the flex ones, and the columns that do not fit follow to the right, reached by
scrolling sideways. Text cut to a column ends with `…`; a numeric column is never cut, it widens to its value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from batchboard.ui.widgets.table_layout import (
    PADDING,
    Column,
    ColumnLayout,
    Justify,
    Placed,
    fit,
    fit_plain,
    layout_columns,
)

__all__ = ["CellRenderer", "Column", "Justify", "VirtualTable"]

CellRenderer = Callable[[str, str], Text]

#: Rendered rows kept: a few screens' worth, whatever the number of rows.
STRIP_CACHE_SIZE = 1024


class VirtualTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows keyed by strings, any number of them, drawn from a cell callback with a row cursor.

    Fill it with `set_rows(keys)` (or `append_rows`), tell it about changed rows with `update_rows(keys)`,
    and call `tick()` once a second if it has live columns. Posts `RowHighlighted` when another row comes
    under the cursor and `RowSelected` on enter, on a click on the cursor row, or a double click."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Move the cursor up", id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Move the cursor down", id="table.down"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="One page up", id="table.page_up"),
        Binding(
            "pagedown", "page_down", "Page down", show=False, tooltip="One page down", id="table.page_down"
        ),
        Binding("home,g", "first_row", "Top", show=False, tooltip="The first row", id="table.top"),
        Binding("end,G", "last_row", "Bottom", show=False, tooltip="The last row", id="table.bottom"),
        Binding(
            "left", "scroll_left", "Left", show=False, tooltip="Scroll the columns left", id="table.left"
        ),
        Binding(
            "right", "scroll_right", "Right", show=False, tooltip="Scroll the columns right", id="table.right"
        ),
        Binding("enter", "select_cursor", "Select", show=False, tooltip="Open the row", id="table.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .virtual-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .virtual-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .virtual-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .virtual-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .virtual-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowMessage(Message):
        """About one row: its `key` and `index` in `table`."""

        def __init__(self, table: VirtualTable, key: str, index: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowHighlighted(RowMessage):
        """Another row is under the cursor (or the first row arrived under it)."""

    class RowSelected(RowMessage):
        """The cursor row was chosen: enter, a click on the cursor row, or a double click."""

    def __init__(
        self,
        columns: Sequence[Column],
        render_cell: CellRenderer,
        *,
        zebra_stripes: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._check_columns()
        self.cell_renderer = render_cell
        self.zebra_stripes = zebra_stripes
        self._hidden: set[str] = set()
        self._widened: dict[str, int] = {}
        self._keys: list[str] = []
        self._keys_owned = True  # False while `_keys` is the caller's list (copied before a change)
        self._index: dict[str, int] | None = None  # built when first asked, once per `set_rows`
        self._versions: dict[str, int] = {}
        self._cursor = 0
        self._cursor_key: str | None = None
        self._layout: ColumnLayout | None = None
        self._generation = 0  # layout or styles changed: every kept strip is stale
        self._strips: LRUCache[tuple[str, int, bool, bool, int], tuple[Strip, Strip]] = LRUCache(
            STRIP_CACHE_SIZE
        )
        self._drawn_live: dict[str, tuple[object, ...]] = {}
        self._relayout_pending = False
        self._scrolled_to: str | None = None  # the column scrolled to sideways, kept across re-layouts
        self._restoring_scroll = False
        self._header: tuple[int, tuple[Strip, Strip]] | None = None
        self._row_styles: tuple[int, dict[tuple[bool, bool], Style]] = (-1, {})  # see `_row_style`
        self._frame_layout: ColumnLayout | None = None  # while a frame is drawn
        self._span: tuple[ColumnLayout | None, int, tuple[int, int]] = (None, 0, (0, 0))  # layout, x: span
        self.rows_rendered = 0
        """Rows drawn (strip cache misses) since the table was made: for tests and benchmarks."""

    # -- columns and layout ----------------------------------------------------------------------

    def _check_columns(self) -> None:
        keys = [c.key for c in self._columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate column keys in {keys}")

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)
        self._check_columns()
        self._widened.clear()
        self.relayout()

    def set_column_hidden(self, key: str, hidden: bool) -> None:
        """Leave a column out of the layout (or bring it back)."""
        if (key in self._hidden) == hidden:
            return
        if hidden:
            self._hidden.add(key)
        else:
            self._hidden.discard(key)
        self.relayout()

    @property
    def view_width(self) -> int:
        """Cells across for the columns (the vertical scrollbar's gutter excluded)."""
        return self.scrollable_content_region.width

    @property
    def column_layout(self) -> ColumnLayout:
        """The columns as laid out for the current width."""
        if self._layout is None or self._layout.view_width != self.view_width:
            self._layout = layout_columns(
                [c for c in self._columns if c.key not in self._hidden], self.view_width, self._widened
            )
            self._generation += 1  # strips drawn for another layout are stale
        return self._layout

    def relayout(self) -> None:
        """Lay the columns out again (the width, the columns or a numeric column's width changed). Scrolled
        sideways, the same column stays the first one after the frozen ones, as far as the new layout
        allows."""
        self._relayout_pending = False
        self._layout = None
        self._update_virtual_size()
        if self.is_mounted:
            layout = self.column_layout
            anchor = self._scrolled_to
            stop = (layout.stop_of(anchor) if anchor is not None else 0) or 0
            self._restoring_scroll = True
            try:
                self.scroll_to(x=min(stop, layout.max_scroll), animate=False)
            finally:
                self._restoring_scroll = False
        self.refresh()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        layout = self._layout
        # Only a scroll the user asked for moves the anchor: not one clamped by a resize (the layout is
        # then for the old width) nor the one `relayout` makes.
        if self._restoring_scroll or layout is None or layout.view_width != self.view_width:
            return
        x = round(new_value)
        self._scrolled_to = layout.column_at(x) if x > 0 else None

    def on_resize(self, event: events.Resize) -> None:
        self.relayout()
        self.scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._generation += 1  # theme, focus or hover: the strips were drawn with other styles
        self.refresh()

    def _update_virtual_size(self) -> None:
        width = self.column_layout.virtual_width if self.is_mounted else 0
        self.virtual_size = Size(width, len(self._keys) + 1)

    # -- rows ------------------------------------------------------------------------------------

    @property
    def row_keys(self) -> Sequence[str]:
        """The keys of the rows, in order (read only)."""
        return self._keys

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def has_row(self, key: str) -> bool:
        return key in self._row_index()

    def get_row_index(self, key: str) -> int:
        """The row's position; KeyError if it is not shown."""
        return self._row_index()[key]

    def _row_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self._keys, range(len(self._keys)), strict=True))
        return self._index

    def get_cell(self, key: str, column: str) -> Text:
        """A cell's text as the callback gives it (uncut)."""
        return self.cell_renderer(key, column)

    def get_row(self, key: str) -> list[Text]:
        """Every cell of a row, in the columns' order (hidden columns included)."""
        return [self.cell_renderer(key, c.key) for c in self._columns]

    def set_rows(self, keys: Sequence[str]) -> None:
        """Show exactly these rows, in this order. The cursor stays on its row if it is still shown, at the
        same height on screen; otherwise it goes to the first row, scrolled to the top. The list is kept
        as given (copied before any change made here): the caller must not change it afterwards."""
        selected = self._cursor_key
        screen_offset = self._cursor - round(self.scroll_y)
        self._keys = keys if isinstance(keys, list) else list(keys)
        self._keys_owned = False
        self._index = None
        index = -1
        if selected is not None:
            try:
                index = self._keys.index(selected)
            except ValueError:
                index = -1
        self._update_virtual_size()
        if index >= 0:
            self._cursor = index
            if 0 <= screen_offset < self.body_height:  # where it was on screen, if the rows allow
                self.scroll_to(y=max(0, index - screen_offset), animate=False)
            self.scroll_to_cursor()
        else:
            self._cursor = 0
            self.scroll_to(y=0, animate=False)
        self._cursor_moved()
        self.refresh()

    def append_rows(self, keys: Iterable[str]) -> None:
        """Add rows at the end (the cursor stays where it is)."""
        added = list(keys)
        if not added:
            return
        self._own_keys()
        start = len(self._keys)
        self._keys.extend(added)
        if self._index is not None:
            self._index.update(zip(added, range(start, start + len(added)), strict=True))
        self._update_virtual_size()
        if start == 0:
            self._cursor = 0
            self._cursor_moved()
        self.refresh()

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Take rows out; the cursor stays on its row, or on the row that took its place."""
        gone = set(keys)
        if not gone.intersection(self._row_index()):
            return
        selected = self._cursor_key
        old_cursor = self._cursor
        self._keys = [k for k in self._keys if k not in gone]
        self._keys_owned = True
        self._index = None
        for key in gone:
            self._versions.pop(key, None)
            self._drawn_live.pop(key, None)
        self._update_virtual_size()
        if selected is not None and selected not in gone:
            self._cursor = self._row_index()[selected]
        else:
            self._cursor = min(old_cursor, max(len(self._keys) - 1, 0))
        self._cursor_moved()
        self.scroll_to_cursor()
        self.refresh()

    def clear(self) -> None:
        self.set_rows([])

    def update_rows(self, keys: Iterable[str]) -> None:
        """These rows' cells changed: draw them again (only the ones on screen are drawn now)."""
        versions = self._versions
        changed = set()
        for key in keys:
            versions[key] = versions.get(key, 0) + 1
            changed.add(key)
        if not changed:
            return
        first, last = self.rows_in_view()
        for index in range(first, last):
            if self._keys[index] in changed:
                self.refresh_lines(index + 1)

    def refresh_rows(self) -> None:
        """Every row may read differently (a new palette, say): draw them all again."""
        self._generation += 1
        self.refresh()

    def _own_keys(self) -> None:
        if not self._keys_owned:
            self._keys = list(self._keys)
            self._keys_owned = True

    # -- the cursor ------------------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (None when there are no rows)."""
        return self._keys[self._cursor] if self._keys else None

    def move_cursor(self, row: int | None = None, *, key: str | None = None, scroll: bool = True) -> None:
        """Put the cursor on a row, by position or by key; brought into view unless `scroll` is False."""
        if key is not None:
            row = self._row_index().get(key)
            if row is None:
                return
        if row is None or not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self._cursor:
            self.refresh_lines(self._cursor + 1)
            self._cursor = row
            self.refresh_lines(row + 1)
        self._cursor_moved()
        if scroll:
            self.scroll_to_cursor()

    def _cursor_moved(self) -> None:
        key = self.cursor_key
        if key != self._cursor_key:
            self._cursor_key = key
            if key is not None:
                self.post_message(self.RowHighlighted(self, key, self._cursor))

    @property
    def body_height(self) -> int:
        """Lines for rows (the header's excluded)."""
        return max(self.scrollable_content_region.height - 1, 0)

    def rows_in_view(self) -> tuple[int, int]:
        """Positions of the first row on screen and one past the last."""
        first = max(round(self.scroll_y), 0)
        return first, min(first + self.body_height, len(self._keys))

    def scroll_to_cursor(self) -> None:
        body = self.body_height
        if body <= 0 or not self._keys:
            return
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False)

    # -- keys and mouse --------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        page = max(self.body_height - 1, 1)
        self.scroll_to(y=max(round(self.scroll_y) - page, 0), animate=False)
        self.move_cursor(self._cursor - page)

    def action_page_down(self) -> None:
        page = max(self.body_height - 1, 1)
        self.scroll_to(y=round(self.scroll_y) + page, animate=False)
        self.move_cursor(self._cursor + page)

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_scroll_left(self) -> None:
        start, _ = self.column_layout.visible_span(round(self.scroll_x))
        earlier = [stop for stop in self.column_layout.scroll_stops() if stop < start]
        self.scroll_to(x=earlier[-1] if earlier else 0, animate=False)

    def action_scroll_right(self) -> None:
        layout = self.column_layout
        start, _ = layout.visible_span(round(self.scroll_x))
        later = [stop for stop in layout.scroll_stops() if stop > start]
        self.scroll_to(x=min(later[0], layout.max_scroll) if later else layout.max_scroll, animate=False)

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key, self._cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # the header, or the scrollbars
        row = round(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._keys):
            return
        event.stop()
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    # -- the live columns ------------------------------------------------------------------------

    def tick(self) -> None:
        """Draw again the rows in view whose live cells read differently now (most seconds: none)."""
        live = [c.key for c in self._columns if c.live and c.key not in self._hidden]
        if not live or not self._keys:
            return
        first, last = self.rows_in_view()
        drawn = self._drawn_live
        for index in range(first, last):
            key = self._keys[index]
            before = drawn.get(key)
            if before is not None and before != self._live_signature(key, live):
                self._versions[key] = self._versions.get(key, 0) + 1
                self.refresh_lines(index + 1)
        if len(drawn) > 4 * max(self.body_height, 64):
            in_view = set(self._keys[first:last])
            self._drawn_live = {k: v for k, v in drawn.items() if k in in_view}

    def _live_signature(self, key: str, live: list[str]) -> tuple[object, ...]:
        render = self.cell_renderer
        signature: list[object] = []
        for column in live:
            text = render(key, column)
            signature.append(text.plain)
            signature.append(text.style)
        return tuple(signature)

    # -- drawing ---------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # A row's base style is kept for one frame only: an ancestor's style can change (a class, a pseudo
        # class) without a style update of this widget, and the next frame must draw with it.
        self._row_styles = (-1, {})
        self._frame_layout = self.column_layout  # asked for each line otherwise: it measures the widget
        try:
            return super().render_lines(crop)
        finally:
            self._frame_layout = None

    def render_line(self, y: int) -> Strip:
        layout = self._frame_layout or self.column_layout
        width = layout.view_width
        if y == 0:
            if self._header is None or self._header[0] != self._generation:
                self._header = (self._generation, self._header_strips(layout))
            frozen, scrolling = self._header[1]
            fill = self.get_component_rich_style("virtual-table--header")
        else:
            index = round(self.scroll_y) + y - 1
            if not 0 <= index < len(self._keys):
                return Strip.blank(width, self.rich_style)
            key = self._keys[index]
            cursor = index == self._cursor
            stripe = self.zebra_stripes and index % 2 == 0
            cache_key = (key, self._versions.get(key, 0), cursor, stripe, self._generation)
            cached = self._strips.get(cache_key)
            if cached is None:
                cached = self._render_row(key, index, cursor, layout)
                self._strips[cache_key] = cached
            frozen, scrolling = cached
            fill = self._row_style(index, cursor)
        x = round(self.scroll_x)
        if self._span[0] is not layout or self._span[1] != x:
            self._span = (layout, x, layout.visible_span(x))
        start, end = self._span[2]
        if end > start:
            visible = scrolling.crop(start, end)
        elif layout.scrolling_view <= 0:
            visible = Strip([], 0)
        else:  # a column wider than the room: as much as fits, marked as cut
            room = layout.scrolling_view
            visible = Strip.join([scrolling.crop(start, start + room - 1), Strip([Segment("…", fill)], 1)])
        return Strip.join([frozen, visible]).extend_cell_length(width, fill).crop(0, width)

    def _row_style(self, index: int, cursor: bool) -> Style:
        """A row's base style (striped or not, under the cursor or not), worked out once per frame and per
        generation: `rich_style` walks every ancestor's styles, and a frame asks twice for each row."""
        stripe = self.zebra_stripes and index % 2 == 0
        kept = self._row_styles
        if kept[0] != self._generation:
            kept = self._row_styles = (self._generation, {})
        style = kept[1].get((stripe, cursor))
        if style is None:
            base = self.get_component_rich_style("virtual-table--even-row") if stripe else self.rich_style
            if cursor:
                base = base + self.get_component_rich_style("virtual-table--cursor")
            style = kept[1][(stripe, cursor)] = base
        return style

    def _header_strips(self, layout: ColumnLayout) -> tuple[Strip, Strip]:
        style = self.get_component_rich_style("virtual-table--header")
        label = {c.key: Text(c.label) for c in self._columns}
        return (
            self._line([(p, label[p.key]) for p in layout.frozen], style, None),
            self._line([(p, label[p.key]) for p in layout.scrolling], style, None),
        )

    def _render_row(self, key: str, index: int, cursor: bool, layout: ColumnLayout) -> tuple[Strip, Strip]:
        self.rows_rendered += 1
        render = self.cell_renderer
        live: list[object] = []
        cells: list[tuple[Placed, Text]] = []
        for placed in (*layout.frozen, *layout.scrolling):
            column = placed.column
            text = render(key, column.key)
            if column.live:
                live.append(text.plain)
                live.append(text.style)
            if column.numeric and text.cell_len > placed.width:
                self._widen(column.key, text.cell_len)
                text = Text("…")  # for this frame only: the column is wider from the next one
            cells.append((placed, text))
        if live:
            self._drawn_live[key] = tuple(live)
        style = self._row_style(index, cursor)
        post = None
        if cursor:  # the cursor's colour over the cells' own, as DataTable draws its cursor
            post = Style.from_color(self.get_component_rich_style("virtual-table--cursor").color)
        split = len(layout.frozen)
        return self._line(cells[:split], style, post), self._line(cells[split:], style, post)

    def _line(self, cells: list[tuple[Placed, Text]], style: Style, post: Style | None) -> Strip:
        if not cells:
            return Strip([], 0)
        pad = " " * PADDING
        width = sum(p.cells for p, _ in cells)
        fitted = [fit_plain(text, placed.width, placed.column.justify) for placed, text in cells]
        plain = [value for value in fitted if value is not None]
        if len(plain) == len(fitted):  # no styles: one segment, as Rich makes it
            joined = pad + (pad + pad).join(plain) + pad
            return Strip(list(Segment.apply_style([Segment(joined)], style, post)), width)
        line = Text(no_wrap=True, end="")
        for placed, text in cells:
            line.append(pad)
            line.append_text(fit(text, placed.width, placed.column.justify))
            line.append(pad)
        segments = Segment.apply_style(line.render(self.app.console), style, post)
        return Strip(list(segments), width)

    def _widen(self, key: str, width: int) -> None:
        if self._widened.get(key, 0) >= width:
            return
        self._widened[key] = width
        if not self._relayout_pending:
            self._relayout_pending = True
            self.call_after_refresh(self.relayout)
