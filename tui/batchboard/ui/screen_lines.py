"""Reading back what the screen shows of a scrolled reply, line by line: a support function for the chat
tests and the chat benchmark, one definition for both, so the benchmark's "same rendering" check is the
tests' own. Not used by the app.

A screen line is put together from public APIs the way the screen composes it: the widgets under each cell
(`Screen.get_widgets_at`, topmost first, from the screen's own layout and clipping), each one's line
(`Widget.render_lines`), cut where any widget starts or ends and filled front to back (the first widget to
cover a piece of the line wins it, as a strip wider than its widget does on screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

#: One screen line: its (text, style without metadata, click action) runs.
Line = tuple[tuple[str, str, Any], ...]


def virtual_y(widget: Widget, scroll: Widget) -> int:
    """`widget`'s top in `scroll`'s virtual (scrollable) space."""
    y = 0
    node: Any = widget
    while node is not scroll and isinstance(node, Widget):
        y += node.virtual_region.y
        node = node.parent
    return y


def document_order(screen: Screen[Any]) -> dict[Any, float]:
    """Each widget's place in the screen's document: later ones are drawn over earlier ones (children over
    their parents). For `screen_line`; take it again after the DOM changes."""
    return {node: i for i, node in enumerate(screen.walk_children(with_self=True))}


def screen_line(screen: Screen[Any], y: int, order: dict[Any, float] | None = None) -> Strip:
    """Row `y` of the screen as it is shown, composed from the widgets the screen has laid out there.

    `order` is `document_order(screen)` (taken here when not given). Raises AssertionError where widgets in
    other layers overlap (a toast, a tooltip): their stacking is not the document order this relies on.
    """
    width = screen.size.width
    spans: dict[Widget, tuple[int, int, Region]] = {}
    tops: list[list[Widget]] = []
    for x in range(width):
        under = list(screen.get_widgets_at(x, y))
        tops.append([widget for widget, _ in under])
        for widget, region in under:
            start, _, _ = spans.get(widget, (x, x, region))
            spans[widget] = (start, x + 1, region)
    # Front to back: later in the document is drawn over earlier (children over their parents).
    position = document_order(screen) if order is None else order

    def rank(widget: Widget) -> float:
        # Scrollbars are no one's children: they are drawn just over the widget they scroll.
        if widget not in position:
            position[widget] = rank(widget.parent) + 0.5 if isinstance(widget.parent, Widget) else -1
        return position[widget]

    for stack in tops:
        ranks = [rank(widget) for widget in stack]
        if ranks != sorted(ranks, reverse=True):
            raise AssertionError(f"line {y}: layered widgets overlap, {stack}")
    front_to_back = sorted(spans, key=rank, reverse=True)
    cut_set = {0, width}
    for start, end, _ in spans.values():
        cut_set.update((start, end))
    cuts = sorted(cut_set)
    chops: dict[int, Strip | None] = dict.fromkeys(cuts[:-1])
    for widget in front_to_back:
        start, end, region = spans[widget]
        strip = widget.render_lines(Region(start - region.x, y - region.y, end - start, 1))[0]
        inside = [cut for cut in cuts if start <= cut <= end]
        for cut, piece in zip(inside, strip.divide([cut - start for cut in inside[1:]]), strict=False):
            if chops.get(cut) is None:
                chops[cut] = piece
    return Strip.join(chops.values())


async def displayed(pilot: Any, scroll: Widget, reply: Sequence[Widget]) -> list[Line]:
    """Every line the screen shows of a reply, from the top of `reply` (the widgets it is drawn by, in
    order; hidden ones are skipped) to its bottom, scrolled into view a page at a time and read from the
    screen (`screen_line`). The style is every attribute but the metadata (which names widgets).

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
        order = document_order(scroll.screen)
        for row in range(view.y, view.bottom):
            line_y = int(scroll.scroll_y) + row - view.y
            if top <= line_y < bottom and line_y not in lines:
                strip = screen_line(scroll.screen, row, order).crop(left, right).simplify()
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
            f"{len(missing)} of the reply's {bottom - top} lines were never on screen (first: {missing[0]})"
        )
    return [lines[line_y] for line_y in range(top, bottom)]
