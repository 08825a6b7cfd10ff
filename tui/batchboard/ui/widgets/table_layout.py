"""Where a table's columns go for a given width: column specs, their layout by priority (frozen, flex,
off to the right), and one cell's text fitted to its column (cut with `…`).

Pure functions of the specs and the width, used by `VirtualTable` (ui/widgets/virtual_table.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

from batchboard.ui.cells import shorten_text

Justify = Literal["left", "right", "center"]

#: Blank cells either side of each column's text.
PADDING = 1


@dataclass(frozen=True, slots=True)
class Column:
    """How a column is laid out.

    `width` is the text width the column wants. A column with a `min_width` may shrink to it when the table
    is narrow (its text then cut with `…`); a `flex` column takes the spare width, up to `max_width`. Lower
    `priority` values stay on screen longer and get their width back first when there is room to spare;
    `frozen` columns stay at the left while scrolling sideways.
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

    def column_at(self, x: int) -> str | None:
        """The scrolling column that comes first on screen at sideways scroll `x` (None when none)."""
        found = None
        for stop, placed in zip(self.scroll_stops(), self.scrolling, strict=True):
            if stop > x:
                break
            found = placed.key
        return found

    def stop_of(self, key: str) -> int | None:
        """The sideways scroll at which the scrolling column `key` comes first (None if it is not one)."""
        for stop, placed in zip(self.scroll_stops(), self.scrolling, strict=True):
            if placed.key == key:
                return stop
        return None

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
    narrowest (a column that does not fit is skipped and a later, narrower one may still fit); a flex
    column laid out keeps its `width` from the columns of lower priority that come after it (they come in
    only if they leave it that much). Spare width then goes back to the shrunk columns by priority (frozen
    first among equals) up to their width, then to the flex ones up to their max width. `widened` holds
    widths a numeric column grew to for its values."""
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
    claimed = sum(want(c) - least(c) for c in frozen if c.flex)
    for column in sorted(rest, key=lambda c: c.priority):
        cells = least(column) + 2 * PADDING
        if used + claimed + cells <= view_width:
            fitted.append(column)
            used += cells
            if column.flex:
                claimed += want(column) - least(column)
    widths = {c.key: least(c) for c in (*frozen, *fitted)}
    spare = view_width - used
    for column in sorted((*frozen, *fitted), key=lambda c: c.priority):
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
    """`text` in exactly `width` cells on one line: cut as `shorten_text` cuts, padded as justified."""
    for breaker in ("\n", "\t"):  # one line: breaks and tabs become spaces
        if breaker in text.plain:
            text = Text(" ").join(text.split(breaker, allow_blank=True))
    length = text.cell_len
    if length > width:
        text = shorten_text(text, width)
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


def fit_plain(text: Text, width: int, justify: Justify) -> str | None:
    """What `fit` makes of a text without styles, as a string (the common cell, drawn for every row on screen,
    needs no `Text` built); None when the text has styles."""
    if text.spans or text.style:
        return None
    plain = text.plain
    length = cell_len(plain)
    if length > width or "\n" in plain or "\t" in plain:
        return fit(text, width, justify).plain
    gap = width - length
    if justify == "right":
        return " " * gap + plain
    if justify == "center":
        return " " * (gap // 2) + plain + " " * (gap - gap // 2)
    return plain + " " * gap
