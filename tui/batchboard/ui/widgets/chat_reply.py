"""A streamed reply: Markdown for model output (links never open on a click) and a coalescing writer.

`ReplyStream` is the pane's equivalent of Textual's `MarkdownStream`, with the same contract (`await
write(...)`, then `finally: await stop()`), built for token floods: text is appended to the Markdown widget
once a frame, in step with the screen (an append is never split by a frame, and the next one waits for the
frame showing it); when more than a frame's worth is waiting, `write` waits (backpressure) instead of
letting the screen fall behind; long replies go into small segments, and segments above the view are hidden
while it follows the end, so a frame's layout does not grow with the reply; the cyclic garbage collector
is paused while a reply streams. Appends are never cancelled halfway: the document is always exactly the
concatenation of what was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from functools import lru_cache

from markdown_it import MarkdownIt
from textual.containers import ScrollableContainer
from textual.widget import Widget
from textual.widgets import Markdown

#: At most this many Markdown appends a second while streaming: about the terminal's refresh rate.
DEFAULT_FRAME_RATE = 60.0
#: Top-level blocks per Markdown segment while streaming (see ReplyStream). Small: a frame re-lays out the
#: live segment, and whole segments are what can be hidden above the view.
DEFAULT_SEGMENT_BLOCKS = 4
#: Sealed segments this many screens above the view are hidden while the view follows the end (0: as soon
#: as they are wholly above it; the spacer standing in for one has its height, so nothing visible changes).
HIDE_BEYOND_SCREENS = 0.0
#: Block types that have no top margin in Markdown's CSS: a segment may start with one of them.
_SPLIT_BEFORE = frozenset({"paragraph_open", "bullet_list_open", "ordered_list_open", "table_open", "hr"})
#: Appends of text written meanwhile that may follow an append before the frame showing them.
_MAX_CATCH_UP = 3
#: Longest wait for a frame after an append (when the screen is not refreshing: covered by another one).
_FRAME_TIMEOUT = 0.25
#: Characters (about 4 a token) that may wait for the next frame before `write` makes the writer wait.
DEFAULT_MAX_BACKLOG = 768


@lru_cache(maxsize=1)
def _shared_parser() -> MarkdownIt:
    # The same configuration Markdown uses by default, built once: building a MarkdownIt costs about as
    # much as parsing a paragraph, and Markdown.append builds one per call. Parsing does not mutate it.
    return MarkdownIt("gfm-like")


def warm_highlighter() -> None:
    """Load what the code highlighting of Markdown's fences loads on first use, so the first fence of a
    reply does not stall the screen: pygments' plugin lexers (looked up for any unknown language name,
    which a fence streaming in has, like "p" of "python"; 0.4-1 s here) and the Python lexer. Blocking:
    run it in a thread."""
    from pygments.lexers import get_lexer_by_name
    from pygments.plugin import find_plugin_lexers
    from pygments.util import ClassNotFound

    list(find_plugin_lexers())
    with contextlib.suppress(ClassNotFound):
        get_lexer_by_name("python")


class ReplyMarkdown(Markdown):
    """Model output as Markdown. Its links post `Markdown.LinkClicked` but never open by themselves."""

    def __init__(
        self,
        markdown: str | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            markdown, name=name, id=id, classes=classes, parser_factory=_shared_parser, open_links=False
        )


class ReplyStream:
    """Streams Markdown fragments into a Markdown widget, coalescing them to one append per frame.

    A long reply goes into consecutive Markdown *segments*: once the live one holds more than
    `segment_blocks` top-level blocks, the next one starts where a new top-level block starts (the boundary
    `Markdown.append` itself re-parses from). Textual lays out every displayed widget on each frame, so
    segments above the view are hidden behind same-height spacers while the view follows the end.
    Segments break only before blocks with no top margin, so the result renders exactly like one Markdown
    document (the tests and the benchmark compare every block's text, position and height with one).
    """

    def __init__(
        self,
        markdown: Markdown,
        frame_rate: float = DEFAULT_FRAME_RATE,
        segment_blocks: int = DEFAULT_SEGMENT_BLOCKS,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ) -> None:
        self.markdown = markdown
        self._min_interval = 1.0 / frame_rate
        self._segment_blocks = segment_blocks
        self._segments: list[Markdown] = [markdown]
        self._frozen: dict[Markdown, Widget] = {}
        """Sealed segments hidden while far above the view, and the spacer standing in for each."""
        self._frozen_width = 0
        self._live_source = markdown.source
        self._done_source: list[str] = []
        """Sources of the sealed segments, in order."""
        self._pending: list[str] = []
        self._backlog = 0
        self._max_backlog = max_backlog
        self._drained = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.rendered = len(self._live_source)
        """Characters of the reply whose appends have completed (for the benchmark's lag measurement)."""

    @classmethod
    def get_stream(
        cls,
        markdown: Markdown,
        frame_rate: float = DEFAULT_FRAME_RATE,
        segment_blocks: int = DEFAULT_SEGMENT_BLOCKS,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ) -> ReplyStream:
        """Like `Markdown.get_stream`: a started stream for `markdown`."""
        stream = cls(markdown, frame_rate, segment_blocks, max_backlog)
        stream.start()
        return stream

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reply-stream")

    async def write(self, fragment: str) -> None:
        """Queue a fragment for the next frame; cheap enough to call once per token.

        When more than `max_backlog` characters are waiting or not yet on screen (a flood faster than the
        screen can draw), waits for the frame showing them: the writer slows down instead of the screen
        falling behind. Against the API that leaves the rest of the reply in the socket until the screen is
        ready.
        """
        if self._stopped:
            raise RuntimeError("Can't write to the stream after it has stopped.")
        if not fragment:
            return
        self._pending.append(fragment)
        self._backlog += len(fragment)
        self._wake.set()
        if self._backlog > self._max_backlog:
            self._drained.clear()
            await self._drained.wait()

    @property
    def segments(self) -> int:
        return len(self._segments)

    @property
    def source(self) -> str:
        return "".join(self._done_source) + self._live_source

    async def stop(self) -> None:
        """Render whatever is queued, then end."""
        self._stopped = True
        self._stopping.set()
        self._drained.set()
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            await asyncio.shield(task)

    async def _run(self) -> None:
        _pause_gc()  # here, not in start(): a task cancelled before it runs never reaches the finally
        try:
            await self._frames()
        finally:
            _resume_gc()

    async def _frames(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.perf_counter()
            if self._pending:
                # No frame may start halfway through: it would show none of this text, and the text would
                # wait for the frame after. Text written while the append awaits its mounts goes in too.
                with self.markdown.app.batch_update():
                    for _ in range(_MAX_CATCH_UP):
                        if not self._pending:
                            break
                        text = "".join(self._pending)
                        self._pending.clear()
                        await self._append(text)
                    if not self._stopping.is_set():
                        await self._freeze_offscreen()
                # One append per frame: wait for the frame that shows this text before taking more, so a
                # frame is never put off by the next append. Text counts against the backlog until then:
                # what one frame has to lay out stays bounded.
                await self._next_frame()
                self._backlog = sum(map(len, self._pending))
                if self._backlog <= self._max_backlog:
                    self._drained.set()
            if self._stopping.is_set():
                if not self._pending:
                    if self._frozen:
                        await self._thaw_all()
                    return
                continue
            # Let a frame's worth of text gather before the next append (or end at once on stop).
            delay = self._min_interval - (time.perf_counter() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _next_frame(self) -> None:
        """Wait until the screen has refreshed (or a short while, if it is not refreshing: another screen)."""
        refreshed = asyncio.get_running_loop().create_future()
        self.markdown.call_after_refresh(refreshed.set_result, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(refreshed, _FRAME_TIMEOUT)

    async def _append(self, text: str) -> None:
        live = self._segments[-1]
        combined = self._live_source + text
        split = self._split_point(combined)
        parent = live.parent
        if split is None or split < len(self._live_source) or not isinstance(parent, Widget):
            await live.append(text)
            self._live_source = combined
        else:
            # Seal the live segment just before the block that starts in the new text.
            head, tail = text[: split - len(self._live_source)], combined[split:]
            if head:
                await live.append(head)
            self._done_source.append(combined[:split])
            # Mounted empty, then appended to: `Markdown.update` would assume its text ends on a block
            # boundary and re-parse later appends from its last line (breaking an open code fence).
            segment = type(self.markdown)(classes=" ".join(self.markdown.classes))
            await parent.mount(segment, after=live)
            await segment.append(tail)
            self._segments.append(segment)
            self._live_source = tail
        self.rendered += len(text)

    def _split_point(self, source: str) -> int | None:
        """Where to start a new segment in `source` (the live segment's text plus the new text), or None.

        Only once the live segment holds more than `segment_blocks` top-level blocks, and only before a
        block with no top margin (paragraph, list, table, rule): there the vertical gap is the previous
        block's bottom margin alone, as it is inside one Markdown widget, so segments render the same.
        """
        if self._segment_blocks <= 0:
            return None
        starts = [
            (token.map[0], token.type)
            for token in _shared_parser().parse(source)
            if token.level == 0 and token.map is not None and token.nesting >= 0
        ]
        if len(starts) <= self._segment_blocks:
            return None
        line_offsets = [0]
        line_offsets.extend(i + 1 for i, char in enumerate(source) if char == "\n")
        for line, kind in reversed(starts[1:]):
            offset = line_offsets[line]
            if offset < len(self._live_source):
                return None
            if kind in _SPLIT_BEFORE:
                return offset
        return None

    # Textual lays out every displayed widget on each frame, so the cost of a frame would grow with the
    # length of the reply. While the view follows the end, sealed segments wholly above it are hidden behind
    # a spacer of the same height (nothing visible changes); they come back as soon as the user scrolls away
    # from the end, the width changes, or the stream stops.

    def _scroller(self) -> ScrollableContainer | None:
        node = self.markdown.parent
        while node is not None and not isinstance(node, ScrollableContainer):
            node = node.parent
        return node

    async def _freeze_offscreen(self) -> None:
        scroller = self._scroller()
        if scroller is None or len(self._segments) < 2:
            return
        following = scroller.scroll_y >= scroller.max_scroll_y - 1
        if not following or (self._frozen and scroller.size.width != self._frozen_width):
            await self._thaw_all()
            return
        horizon = scroller.scroll_y - scroller.size.height * HIDE_BEYOND_SCREENS
        for segment in self._segments[:-1]:
            if segment in self._frozen or not segment.display:
                continue
            bottom = _virtual_y(segment, scroller) + segment.outer_size.height
            if bottom >= horizon:
                break
            parent = segment.parent
            if not isinstance(parent, Widget):
                break
            spacer = Widget(classes="reply-spacer")
            spacer.styles.height = segment.outer_size.height
            await parent.mount(spacer, before=segment)
            segment.display = False
            self._frozen[segment] = spacer
            self._frozen_width = scroller.size.width

    async def _thaw_all(self) -> None:
        if not self._frozen:
            return
        frozen, self._frozen = self._frozen, {}
        with self.markdown.app.batch_update():
            for segment, spacer in frozen.items():
                segment.display = True
                await spacer.remove()


# A full garbage collection of a Textual app's heap takes 100-300 ms: long enough to put the screen behind.
# Like Textual's own PAUSE_GC_ON_SCROLL, the cyclic collector is paused while a reply streams (reference
# counting still frees almost everything) and resumed when the last stream stops.
_gc_pauses = 0


def _pause_gc() -> None:
    global _gc_pauses
    if _gc_pauses == 0 and gc.isenabled():
        gc.disable()
        _gc_pauses = 1
    elif _gc_pauses:
        _gc_pauses += 1


def _resume_gc() -> None:
    global _gc_pauses
    if _gc_pauses:
        _gc_pauses -= 1
        if _gc_pauses == 0:
            gc.enable()


def _virtual_y(widget: Widget, scroller: Widget) -> int:
    """`widget`'s top in `scroller`'s virtual (scrollable) space."""
    y = 0
    node: object = widget
    while isinstance(node, Widget) and node is not scroller:
        y += node.virtual_region.y
        node = node.parent
    return y
