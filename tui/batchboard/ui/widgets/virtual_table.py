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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Justify = Literal["left", "right", "center"]
CellRenderer = Callable[[str, str], Text]

#: Blank cells either side of each column's text.
PADDING = 1
#: Rendered rows kept: a few screens' worth, whatever the number of rows.
STRIP_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Column:
    """How a column is laid out.

    `width` is the text width the column wants. A column with a `min_width` may shrink to it when the table
    is narrow (its text then cut with `…`); a `flex` column takes the spare width, up to `max_width`. Lower
    `priority` values stay on screen longer; `frozen` columns stay at the left while scrolling sideways.
    A `numeric` column is never cut: a value wider than the column widens it, and a column that does not fit
    is moved off to the right whole. `live` columns change with time alone (ages, countdowns): `tick`
    re-reads them for the rows in view."""

    key: str
    label: str
    width: int
    min_width: int | None = None
    max_width: int | None = None
    priority: int = 0
    frozen: bool = False
    flex: bool = False
    justify: Justify = "left"
    numeric: bool = False
    live: bool = False

    def __post_init__(self) -> None:
        label_width = Text(self.label).cell_len
        if self.narrowest < label_width:
            raise ValueError(f"column {self.key!r}: the label {self.label!r} is wider than the column can be")
        if self.numeric and self.min_width is not None and self.min_width < self.width:
            raise ValueError(f"column {self.key!r}: a numeric column cannot shrink (numbers are never cut)")
        if self.max_width is not None and self.max_width < self.width:
            raise ValueError(f"column {self.key!r}: max_width is below width")

    @property
    def narrowest(self) -> int:
        return self.width if self.min_width is None else min(self.min_width, self.width)


@dataclass(frozen=True, slots=True)
class Placed:
    """A column as laid out: its text width (padding excluded)."""

    column: Column
    width: int

    @property
    def key(self) -> str:
        return self.column.key

    @property
    def cells(self) -> int:
        return self.width + 2 * PADDING


@dataclass(frozen=True, slots=True)
class ColumnLayout:
    """Where the columns go for a given width: the frozen ones, then the scrolling ones (those that fit the
    width first, then those that follow to the right)."""

    view_width: int
    frozen: tuple[Placed, ...]
    scrolling: tuple[Placed, ...]
    fitted: frozenset[str]
    """Keys of the columns wholly on screen when the table is not scrolled sideways."""

    @property
    def frozen_width(self) -> int:
        return sum(p.cells for p in self.frozen)

    @property
    def scrolling_width(self) -> int:
        return sum(p.cells for p in self.scrolling)

    @property
    def total_width(self) -> int:
        return self.frozen_width + self.scrolling_width

    @property
    def shown(self) -> list[str]:
        """The keys on screen at no sideways scroll, left to right."""
        return [p.key for p in (*self.frozen, *self.scrolling) if p.key in self.fitted]

    @property
    def offscreen(self) -> list[str]:
        """The keys reached by scrolling sideways, left to right."""
        return [p.key for p in self.scrolling if p.key not in self.fitted]

    def width_of(self, key: str) -> int | None:
        for placed in (*self.frozen, *self.scrolling):
            if placed.key == key:
                return placed.width
        return None

    def scroll_stops(self) -> list[int]:
        """Sideways scroll positions at which a scrolling column starts."""
        stops, x = [], 0
        for placed in self.scrolling:
            stops.append(x)
            x += placed.cells
        return stops

    @property
    def scrolling_view(self) -> int:
        """Cells across for the scrolling columns."""
        return max(self.view_width - self.frozen_width, 0)

    @property
    def max_scroll(self) -> int:
        """The furthest sideways scroll: the first column stop from which every later column fits."""
        room, total = self.scrolling_view, self.scrolling_width
        return next((stop for stop in self.scroll_stops() if total - stop <= room), 0)

    @property
    def virtual_width(self) -> int:
        """Width to scroll over: enough for the last columns to be reached whole."""
        return self.frozen_width + max(self.scrolling_width, self.max_scroll + self.scrolling_view)

    def visible_span(self, x: int) -> tuple[int, int]:
        """At sideways scroll `x`: the cells of the scrolling columns on screen. The span starts at the
        column stop at or before `x` and holds only whole columns (a cut value could read as another);
        empty when even the first is wider than the room."""
        stops = self.scroll_stops()
        room = self.scrolling_view
        first = max((i for i, stop in enumerate(stops) if stop <= x), default=0)
        start = stops[first] if stops else 0
        end = start
        for placed in self.scrolling[first:]:
            if end + placed.cells - start > room:
                break
            end += placed.cells
        return start, end


def layout_columns(
    columns: Sequence[Column], view_width: int, widened: Mapping[str, int] | None = None
) -> ColumnLayout:
    """Lay out `columns` (in their left-to-right order) for a table `view_width` cells wide.

    Frozen columns first, at their narrowest; then the others by priority, each if it fits at its
    narrowest (a column that does not fit is skipped and a later, narrower one may still fit). Spare width
    then goes back to the shrunk columns (frozen first, then by priority) up to their width, then to the
    flex ones up to their max width. `widened` holds widths a numeric column grew to for its values."""
    widened = widened or {}

    def want(column: Column) -> int:
        return max(column.width, widened.get(column.key, 0))

    def least(column: Column) -> int:
        return max(column.narrowest, widened.get(column.key, 0))

    frozen = [c for c in columns if c.frozen]
    used = sum(least(c) + 2 * PADDING for c in frozen)
    if frozen and used > view_width:  # no room to keep them still: everything scrolls
        frozen, used = [], 0
    rest = [c for c in columns if c not in frozen]
    fitted: list[Column] = []
    for column in sorted(rest, key=lambda c: c.priority):
        cells = least(column) + 2 * PADDING
        if used + cells <= view_width:
            fitted.append(column)
            used += cells
    widths = {c.key: least(c) for c in (*frozen, *fitted)}
    spare = view_width - used
    for column in (*frozen, *sorted(fitted, key=lambda c: c.priority)):
        grow = min(spare, want(column) - widths[column.key])
        if grow > 0:
            widths[column.key] += grow
            spare -= grow
    flexible = [c for c in (*frozen, *fitted) if c.flex]
    while spare > 0 and flexible:
        share = max(spare // len(flexible), 1)
        for column in list(flexible):
            cap = column.max_width
            room = share if cap is None else min(share, cap - widths[column.key])
            room = min(room, spare)
            if room <= 0:
                flexible.remove(column)
                continue
            widths[column.key] += room
            spare -= room
    fitted_keys = frozenset(c.key for c in fitted) | {c.key for c in frozen}
    scrolling = [Placed(c, widths[c.key]) for c in rest if c.key in fitted_keys]
    scrolling += [Placed(c, want(c)) for c in rest if c.key not in fitted_keys]
    return ColumnLayout(
        view_width=view_width,
        frozen=tuple(Placed(c, widths[c.key]) for c in frozen),
        scrolling=tuple(scrolling),
        fitted=fitted_keys,
    )


def fit(text: Text, width: int, justify: Justify) -> Text:
    """`text` in exactly `width` cells on one line: cut with `…` if longer, padded as justified."""
    for breaker in ("\n", "\t"):  # one line: breaks and tabs become spaces
        if breaker in text.plain:
            text = Text(" ").join(text.split(breaker, allow_blank=True))
    length = text.cell_len
    if length > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
        length = text.cell_len
    if length == width:
        return text
    gap = width - length
    line = Text(no_wrap=True, end="")
    if justify == "right":
        line.append(" " * gap)
        line.append_text(text)
    elif justify == "center":
        line.append(" " * (gap // 2))
        line.append_text(text)
        line.append(" " * (gap - gap // 2))
    else:
        line.append_text(text)
        line.append(" " * gap)
    return line


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

    class RowHighlighted(Message):
        """Another row is under the cursor (or the first row arrived under it)."""

        def __init__(self, table: VirtualTable, key: str, index: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """The cursor row was chosen: enter, a click on the cursor row, or a double click."""

        def __init__(self, table: VirtualTable, key: str, index: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

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
        self._header: tuple[int, tuple[Strip, Strip]] | None = None
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
        """Lay the columns out again (the width, the columns or a numeric column's width changed)."""
        self._relayout_pending = False
        self._layout = None
        self._update_virtual_size()
        if self.is_mounted:
            max_x = self.column_layout.max_scroll
            if self.scroll_x > max_x:
                self.scroll_to(x=max_x, animate=False)
        self.refresh()

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

    def render_line(self, y: int) -> Strip:
        width = self.view_width
        layout = self.column_layout
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
        start, end = layout.visible_span(round(self.scroll_x))
        if end > start:
            visible = scrolling.crop(start, end)
        elif layout.scrolling_view <= 0:
            visible = Strip([], 0)
        else:  # a column wider than the room: as much as fits, marked as cut
            room = layout.scrolling_view
            visible = Strip.join([scrolling.crop(start, start + room - 1), Strip([Segment("…", fill)], 1)])
        return Strip.join([frozen, visible]).extend_cell_length(width, fill).crop(0, width)

    def _row_style(self, index: int, cursor: bool) -> Style:
        base = self.rich_style
        if self.zebra_stripes and index % 2 == 0:
            base = self.get_component_rich_style("virtual-table--even-row")
        if cursor:
            return base + self.get_component_rich_style("virtual-table--cursor")
        return base

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
        line = Text(no_wrap=True, end="")
        pad = " " * PADDING
        for placed, text in cells:
            line.append(pad)
            line.append_text(fit(text, placed.width, placed.column.justify))
            line.append(pad)
        segments = Segment.apply_style(line.render(self.app.console), style, post)
        return Strip(list(segments), sum(p.cells for p, _ in cells))

    def _widen(self, key: str, width: int) -> None:
        if self._widened.get(key, 0) >= width:
            return
        self._widened[key] = width
        if not self._relayout_pending:
            self._relayout_pending = True
            self.call_after_refresh(self.relayout)
