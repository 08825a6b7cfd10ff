"""Reading back what the screen shows, line by line: support for the chat tests and the chat benchmark, one
definition for both, so the benchmark's "same rendering" check is the tests' own. Not used by the app.

`Frame.line` puts a screen line together from public APIs the way the screen composes it: the widgets
under each cell (`Screen.get_widgets_at`, topmost first, from the screen's own layout and clipping), each
one's line (`Widget.render_lines`), layered front to back (`chat_reply.flatten`). `Terminal` is the check
on it: a terminal driver that keeps the cells the app's output draws, so a test can compare a composed
line with what reached the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any
from weakref import WeakKeyDictionary

from rich.cells import cell_len
from rich.console import Console
from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.driver import Driver
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from batchboard.core.format import plural
from batchboard.ui.widgets.chat_reply import flatten

#: One screen line: its (text, style without metadata, click action) runs.
Line = tuple[tuple[str, str, Any], ...]
#: One terminal cell: its character ("" for the right half of a wide one), SGR parameters and link target.
Cell = tuple[str, str, str]


def virtual_y(widget: Widget, scroll: Widget) -> int:
    """`widget`'s top in `scroll`'s virtual (scrollable) space."""
    y = 0
    node: Any = widget
    while node is not scroll and isinstance(node, Widget):
        y += node.virtual_region.y
        node = node.parent
    return y


class Frame:
    """The screen as it is laid out now, to read its lines (`line`); take a new one after it changes."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        self.width, self.height = screen.size
        self._order: dict[DOMNode, float] = {}
        """Each widget's place in the document: later ones are drawn over earlier ones."""
        self._edges: list[set[int]] = [{0, self.width} for _ in range(self.height)]
        """Per row, where the widgets under it may change: the edges of every widget's region, content region
        (where its scrollbars are) and scrollable content region (which clips its children)."""
        for i, node in enumerate(screen.walk_children(with_self=True)):
            self._order[node] = i
            if not isinstance(node, Widget) or not node.display:
                continue
            region = node.region
            for area in (region, node.content_region, node.scrollable_content_region):
                for y in range(max(area.y, 0), min(area.bottom, self.height)):
                    self._edges[y].update(x for x in (area.x, area.right) if 0 < x < self.width)

    def _rank(self, widget: Widget) -> float:
        # Scrollbars are no one's children: they are drawn just over the widget they scroll.
        if widget not in self._order:
            parent = widget.parent
            self._order[widget] = self._rank(parent) + 0.5 if isinstance(parent, Widget) else -1
        return self._order[widget]

    def line(self, y: int) -> Strip:
        """Row `y` of the screen as it is shown, composed from the widgets the screen has laid out there.

        Raises AssertionError where widgets in other layers overlap (a toast, a tooltip): their stacking is
        not the document order this relies on.
        """
        spans: dict[Widget, tuple[int, int, Region]] = {}
        edges = sorted(self._edges[y])
        for x, end in pairwise(edges):
            # The same widgets cover every cell from one edge to the next.
            under = list(self.screen.get_widgets_at(x, y))
            ranks = [self._rank(widget) for widget, _ in under]
            if ranks != sorted(ranks, reverse=True):
                raise AssertionError(f"line {y}: layered widgets overlap, {[widget for widget, _ in under]}")
            for widget, region in under:
                start, _, _ = spans.get(widget, (x, end, region))
                spans[widget] = (start, end, region)
        layers = []
        for widget in sorted(spans, key=self._rank, reverse=True):
            start, end, region = spans[widget]
            strip = widget.render_lines(Region(start - region.x, y - region.y, end - start, 1))[0]
            layers.append((start, end, strip))
        return flatten(self.width, layers)


def screen_line(screen: Screen[Any], y: int) -> Strip:
    """Row `y` of the screen as it is shown (`Frame.line`)."""
    return Frame(screen).line(y)


class Terminal(Driver):
    """A terminal that is not there: the app renders its screen updates to it as to a real one, and it keeps
    the cells they draw (`cells`), as a terminal would show them. Use it with `App(driver_class=Terminal)`
    and `run_test(headless=False)`."""

    _CONTROL = re.compile(
        r"\x1b\[(\d+);(\d+)H|(\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\|[^\x1b\n]+)|\x1b\[[0-?]*[ -/]*[@-~]|\n"
    )

    def __init__(
        self, app: App[Any], *, debug: bool = False, mouse: bool = True, size: tuple[int, int] | None = None
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.owner = app
        self.terminal_size = Size(*(size or (80, 24)))
        self._output: list[str] = []
        self._grid: dict[int, dict[int, Cell]] = {}
        _terminals[app] = self

    @classmethod
    def of(cls, app: App[Any]) -> Terminal:
        """The terminal `app` runs on."""
        return _terminals[app]

    def write(self, data: str) -> None:
        self._output.append(data)

    def start_application_mode(self) -> None:
        self.send_message(events.Resize(self.terminal_size, self.terminal_size))

    def disable_input(self) -> None:
        return None

    def stop_application_mode(self) -> None:
        return None

    def cells(self, y: int, width: int) -> list[Cell]:
        """Row `y` of the terminal, `width` cells (a cell nothing was written to is a blank)."""
        self._draw()
        row = self._grid.get(y, {})
        return [row.get(x, (" ", "", "")) for x in range(width)]

    def _draw(self) -> None:
        output, self._output = "".join(self._output), []
        x = y = 0
        styled: list[str] = []
        for match in self._CONTROL.finditer(output):
            if match[1] is not None:
                x, y = self._put(x, y, styled)
                y, x = int(match[1]) - 1, int(match[2]) - 1
            elif match[3] is not None:
                styled.append(match[3])
        self._put(x, y, styled)

    def _put(self, x: int, y: int, styled: list[str]) -> tuple[int, int]:
        """Write the text and styles gathered since the last cursor move at (x, y); empties `styled`."""
        row = self._grid.setdefault(y, {})
        for cell in cells_of("".join(styled)):
            row[x] = cell
            x += 1
        styled.clear()
        return x, y


_terminals: WeakKeyDictionary[App[Any], Terminal] = WeakKeyDictionary()
#: What a line of terminal output is made of: SGR styles, OSC 8 links, text.
_RUNS = re.compile(r"\x1b\[([0-9;]*)m|\x1b\]8;[^;\x1b]*;([^\x1b]*)\x1b\\|([^\x1b]+)")


def cells_of(ansi: str) -> list[Cell]:
    """The cells a terminal shows for one line of output: each character with the SGR parameters and the
    OSC 8 link in force where it was written (a wide character takes two cells, the second one empty)."""
    cells: list[Cell] = []
    sgr, link = "", ""
    for match in _RUNS.finditer(ansi):
        params, target, text = match.groups()
        if params is not None:
            sgr = "" if params in ("", "0") else f"{sgr};{params}" if sgr else params
        elif target is not None:
            link = target
        else:
            for char in text:
                width = cell_len(char)
                if not width and cells:
                    cells[-1] = (cells[-1][0] + char, *cells[-1][1:])
                    continue
                cells.append((char, sgr, link))
                cells.extend(("", sgr, link) for _ in range(width - 1))
    return cells


def strip_cells(strip: Strip, console: Console, width: int) -> list[Cell]:
    """The cells a terminal shows for `strip` rendered by `console` (an app's), as `Terminal.cells` reads
    them (the same decoding on both sides), up to `width` cells: a strip may carry more than its width
    (a table cell narrower than its padding), which the terminal's edge cuts off."""
    return cells_of(strip.render(console))[:width]


async def displayed(pilot: Any, scroll: Widget, reply: Sequence[Widget]) -> list[Line]:
    """Every line the screen shows of a reply, from the top of `reply` (the widgets it is drawn by, in
    order; hidden ones are skipped) to its bottom, scrolled into view a page at a time and read from the
    screen (`Frame.line`). The style is every attribute but the metadata (which names widgets).

    Raises AssertionError when some line of the reply could not be brought on screen: a comparison of
    two renderings must never pass on lines that were not read."""
    shown = [widget for widget in reply if widget.display]
    if not shown:
        raise AssertionError("nothing of the reply is displayed")
    top = virtual_y(shown[0], scroll)
    bottom = virtual_y(shown[-1], scroll) + shown[-1].outer_size.height
    scroll.release_anchor()
    lines: dict[int, Line] = {}
    y = top
    while y < bottom:
        scroll.scroll_to(y=y, animate=False, immediate=True)
        await pilot.pause()
        await pilot.pause()
        view = scroll.content_region
        left, right = shown[0].region.x, shown[0].region.right
        frame = Frame(scroll.screen)
        for row in range(view.y, view.bottom):
            line_y = int(scroll.scroll_y) + row - view.y
            if top <= line_y < bottom and line_y not in lines:
                strip = frame.line(row).crop(left, right).simplify()
                lines[line_y] = tuple(
                    (
                        segment.text,
                        str(segment.style.clear_meta_and_links()) if segment.style else "",
                        segment.style.meta.get("@click") if segment.style else None,
                    )
                    for segment in strip
                )
        if int(scroll.scroll_y) >= scroll.max_scroll_y:
            break
        y = int(scroll.scroll_y) + view.height
    missing = [line_y for line_y in range(top, bottom) if line_y not in lines]
    if missing:
        raise AssertionError(
            f"{len(missing)} of the reply's {plural(bottom - top, 'line')} were never on screen "
            f"(first: {missing[0]})"
        )
    return [lines[line_y] for line_y in range(top, bottom)]
