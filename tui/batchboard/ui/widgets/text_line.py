"""`TextLine`: unwrapped lines (the header, the view bar) drawn again only when what they read changes.

Those lines are set again on every poll round and every second; most of the time they read the same, and
a plain `Static.update` draws them anyway and lays the whole screen out again, which was most of what an
idle dashboard did.
"""

from __future__ import annotations

from textual.content import Content, Span
from textual.widgets import Static


class TextLine(Static):
    """Lines that never wrap (each is fitted to the width by its owner), shown with `show_line`."""

    DEFAULT_CSS = """
    TextLine {
        text-wrap: nowrap;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self._shown: tuple[str, tuple[Span, ...]] | None = None
        """The text and styles on screen."""

    def show_line(self, content: Content) -> None:
        """Draw `content` if it reads differently (text or styles) from what is on screen, and lay the
        screen out again only if it has another number of lines (the line's width is its container's)."""
        shown = (content.plain, tuple(content.spans))
        if shown == self._shown:
            return
        lines_change = self._shown is None or shown[0].count("\n") != self._shown[0].count("\n")
        self._shown = shown
        self.update(content, layout=lines_change)
