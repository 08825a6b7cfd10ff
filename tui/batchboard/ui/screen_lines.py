"""Reading back what the screen shows of a scrolled reply, line by line: a support function for the chat
tests and the chat benchmark, one definition for both, so the benchmark's "same rendering" check is the
tests' own. Not used by the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


async def displayed(pilot: Any, scroll: Widget, reply: Sequence[Widget]) -> list[Line]:
    """Every line the screen shows of a reply, from the top of `reply` (the widgets it is drawn by, in
    order; hidden ones are skipped) to its bottom, scrolled into view a page at a time and read from the
    composited screen. The style is every attribute but the metadata (which names widgets).

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
        strips = scroll.screen._compositor.render_strips()
        view = scroll.content_region
        left, right = shown[0].region.x, shown[0].region.right
        for row in range(view.y, view.bottom):
            line_y = int(scroll.scroll_y) + row - view.y
            if top <= line_y < bottom and line_y not in lines:
                strip = strips[row].crop(left, right).simplify()
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
