"""A streamed reply: Markdown for model output (links never open on a click) and a coalescing writer.

`ReplyStream` is the pane's equivalent of Textual's `MarkdownStream`, with the same contract (`await
write(...)`, then `finally: await stop()`), built for token floods: text is appended to the Markdown widget
once a frame, in step with the screen (an append is never split by a frame, and the next one waits for the
frame showing it); when more than a frame's worth is waiting, `write` waits (backpressure) instead of
letting the screen fall behind; a long reply goes into small Markdown segments, and each finished segment is
replaced by a `MarkdownSnapshot` of the lines it rendered, so a frame's layout and paint do not grow with
the reply; the cyclic garbage collector is paused while a reply streams. Appends are never cancelled
halfway: the document is always exactly the concatenation of what was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise

from markdown_it import MarkdownIt
from textual import events
from textual.errors import NoWidget
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Markdown

#: At most this many Markdown appends a second while streaming: about the terminal's refresh rate.
DEFAULT_FRAME_RATE = 60.0
#: Top-level blocks per Markdown segment while streaming (see ReplyStream). Small: a frame re-lays out the
#: live segment, and only whole segments are replaced by snapshots.
DEFAULT_SEGMENT_BLOCKS = 4
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


def _block_starts(source: str) -> list[tuple[int, str]]:
    """The first line and token type of each top-level block of `source`."""
    return [
        (token.map[0], token.type)
        for token in _shared_parser().parse(source)
        if token.level == 0 and token.map is not None and token.nesting >= 0
    ]


def render_snapshot(widget: Widget) -> list[Strip] | None:
    """The lines `widget` and its descendants paint (its region: padding and border, not margin), or None if
    the screen has not laid them out at their current size yet.

    Composed from public APIs as the screen composes its lines: each widget's `render_lines` at the region
    the screen gave it, clipped by its containers, the lines cut wherever a widget starts or ends and filled
    front to back (the first widget to cover a piece wins it, as on screen). A widget not laid out at its
    current size, or drawing scrollbars, makes it None.
    """
    if not widget.is_attached or not widget.display:
        return None
    origin = _laid_out_region(widget)
    if not origin:
        return None
    placed: list[tuple[Widget, Region, Region]] = []
    if not _place(widget, (-origin.x, -origin.y), origin.reset_offset, placed):
        return None
    width, height = origin.size
    layers: list[list[tuple[int, int, Strip]]] = [[] for _ in range(height)]
    # Front to back: a later widget in the document is drawn over an earlier one, a child over its parent.
    for node, region, clip in reversed(placed):
        area = region.intersection(clip)
        if area:
            strips = node.render_lines(area.translate((-region.x, -region.y)))
            for y, strip in zip(area.line_range, strips, strict=False):
                layers[y].append((area.x, area.right, strip))
    return [flatten(width, line) for line in layers]


def flatten(width: int, layers: Sequence[tuple[int, int, Strip]]) -> Strip:
    """One line of `width` cells from the lines of the widgets drawn on it, front first: each a (start,
    end, strip) of the columns it covers. As on screen, the line is cut wherever a widget starts or ends,
    and each piece shows the first widget that covers it."""
    cut_set = {0, width}
    for start, end, _ in layers:
        cut_set.update((start, end))
    cuts = sorted(cut_set)
    chops: dict[int, Strip | None] = dict.fromkeys(cuts[:-1])
    for start, end, strip in layers:
        inside = [cut for cut in cuts if start <= cut <= end]
        for cut, piece in zip(inside, strip.divide([cut - start for cut in inside[1:]]), strict=False):
            if chops.get(cut) is None:
                chops[cut] = piece
    ends = dict(pairwise(cuts))
    return Strip.join(Strip.blank(ends[cut] - cut) if chop is None else chop for cut, chop in chops.items())


def _laid_out_region(node: Widget) -> Region | None:
    """`node`'s region on the screen, or None if the screen has not laid it out at its current size (it
    was mounted, or resized while out of view, since)."""
    try:
        region = node.screen.find_widget(node).region
    except NoWidget:
        return None
    return region if node.outer_size == region.size else None


def _place(
    node: Widget, offset: tuple[int, int], clip: Region, placed: list[tuple[Widget, Region, Region]]
) -> bool:
    """Add `node` and its displayed descendants to `placed` in document order, with their regions (moved
    by `offset`) and clips; False if one of them is not laid out at its size or shows a scrollbar."""
    laid_out = _laid_out_region(node)
    if laid_out is None:
        return False
    region = laid_out.translate(offset)
    if node.scrollbar_size_vertical or node.scrollbar_size_horizontal:
        return False
    if node.visible:
        placed.append((node, region, clip))
    children = [child for child in node.children if isinstance(child, Widget) and child.display]
    if children:
        inner = clip.intersection(node.scrollable_content_region.translate(offset))
        return all(_place(child, offset, inner, placed) for child in children)
    return True


class MarkdownSnapshot(Widget):
    """A finished segment of a streamed reply, shown as the very lines its Markdown widget painted.

    One widget of fixed height instead of a segment's dozens of block widgets, so a frame's layout and paint
    do not grow with the reply. The Markdown stays in the DOM, hidden, and comes back (`restore`) when the
    lines would be stale (the width or the theme changed), or once the reply has finished when the mouse
    comes over it, so that text selection and link hover work on the real widgets. A click on a link posts
    `Markdown.LinkClicked` from the Markdown, as the link would.
    """

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    MarkdownSnapshot {
        width: 1fr;
    }
    """

    def __init__(
        self,
        markdown: Markdown,
        strips: list[Strip],
        on_restore: Callable[[Markdown], object] | None = None,
    ) -> None:
        super().__init__()
        self.markdown = markdown
        self.strips = strips
        self.streaming = True
        """While True (the reply is still streaming) the mouse does not bring the Markdown back."""
        self._width = strips[0].cell_length if strips else 0
        self._on_restore = on_restore
        self._restored = False
        self.styles.height = len(strips)
        self.styles.margin = markdown.styles.margin

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        self.restore()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self.restore()

    def on_enter(self, event: events.Enter) -> None:
        if not self.streaming:
            self.restore()

    def render_line(self, y: int) -> Strip:
        return self.strips[y] if 0 <= y < len(self.strips) else Strip.blank(self.size.width)

    def render_lines(self, crop: Region) -> list[Strip]:
        return [strip.crop_extend(crop.x, crop.right, None) for strip in self.strips[crop.y : crop.bottom]]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.strips)

    async def action_link(self, href: str) -> None:
        self.post_message(Markdown.LinkClicked(self.markdown, href))

    def restore(self) -> None:
        """Show the Markdown again in place of this snapshot (in the same frame), and remove the snapshot."""
        if self._restored or not self.is_attached:
            return
        self._restored = True
        with self.app.batch_update():
            self.display = False
            self.markdown.display = True
            self.remove()
        if self._on_restore is not None:
            self._on_restore(self.markdown)


class ReplyStream:
    """Streams Markdown fragments into a Markdown widget, coalescing them to one append per frame.

    A long reply goes into consecutive Markdown *segments*: once the live one holds more than
    `segment_blocks` top-level blocks, the next one starts where a new top-level block starts (the boundary
    `Markdown.append` itself re-parses from). Textual lays out and paints every displayed widget on each
    frame, so a segment that is finished and has been laid out is replaced by a `MarkdownSnapshot` of the
    lines it painted: one widget, whatever the number of its blocks. Segments break only before blocks with
    no top margin, so the result renders exactly like one Markdown document (the tests and the benchmark
    compare the lines on screen with those of one Markdown widget).
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
        self._sealed: dict[Markdown, int] = {}
        """Finished segments waiting for a frame to lay them out before they are snapshotted, each with the
        number of screen layouts seen when it last changed."""
        self._layouts = 0
        """Screen layouts seen since the stream started (`screen_layout_refresh_signal`)."""
        self._frame_waiters: list[asyncio.Future[None]] = []
        self._snapshots: list[MarkdownSnapshot] = []
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
    def snapshots(self) -> list[MarkdownSnapshot]:
        """The snapshots standing in for finished segments (restored ones are gone from the list)."""
        return [snapshot for snapshot in self._snapshots if snapshot.is_attached and snapshot.display]

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
        markdown = self.markdown
        signal = markdown.screen.screen_layout_refresh_signal
        signal.subscribe(markdown, self._laid_out, immediate=True)
        try:
            await self._frames()
        finally:
            signal.unsubscribe(markdown)
            for snapshot in self._snapshots:
                snapshot.streaming = False
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
                    await self._snapshot_sealed()
                    for _ in range(_MAX_CATCH_UP):
                        if not self._pending:
                            break
                        text = "".join(self._pending)
                        self._pending.clear()
                        await self._append(text)
                # One append per frame: wait for the frame that shows this text before taking more, so a
                # frame is never put off by the next append. Text counts against the backlog until then:
                # what one frame has to lay out stays bounded.
                await self._next_frame()
                self._backlog = sum(map(len, self._pending))
                if self._backlog <= self._max_backlog:
                    self._drained.set()
            if self._stopping.is_set():
                if not self._pending:
                    await self._snapshot_last()
                    return
                continue
            # Let a frame's worth of text gather before the next append (or end at once on stop).
            delay = self._min_interval - (time.perf_counter() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    def _laid_out(self, _: object = None) -> None:
        self._layouts += 1
        self._frame_shown()

    def _frame_shown(self, _: object = None) -> None:
        waiters, self._frame_waiters = self._frame_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _next_frame(self) -> None:
        """Wait until the screen has shown a new frame (or a short while, if it is not refreshing: another
        screen covers it).

        The screen publishes `screen_layout_refresh_signal` just after it has laid out and painted a frame;
        `call_after_refresh` covers a frame with no layout, but only runs once every message has been
        handled, tens of milliseconds later in a flood.
        """
        shown: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frame_waiters.append(shown)
        self.markdown.call_after_refresh(self._frame_shown)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(shown, _FRAME_TIMEOUT)

    async def _append(self, text: str) -> None:
        live = self._segments[-1]
        combined = self._live_source + text
        starts = _block_starts(combined)
        if len(self._segments) > 1 and starts and starts[0][1] not in _SPLIT_BEFORE:
            # The segment's first block became one with a top margin (a paragraph turned into a setext
            # heading): it no longer renders as it would in one document, so it goes back into the last one.
            await self._rejoin(text)
            self.rendered += len(text)
            return
        split = self._split_point(combined, starts)
        parent = live.parent
        if split is None or not isinstance(parent, Widget):
            await live.append(text)
            self._live_source = combined
        else:
            # Seal the live segment just before the block that starts at `split`.
            tail = combined[split:]
            if split >= len(self._live_source):
                head = text[: split - len(self._live_source)]
                if head:
                    await live.append(head)
            else:
                # The block began in an earlier append (its first line was not complete yet): take it
                # back out. The segment is finished, so `update` may take its text for whole blocks.
                await live.update(combined[:split])
            self._done_source.append(combined[:split])
            self._sealed[live] = self._layouts
            # Mounted empty, then appended to: `Markdown.update` would assume its text ends on a block
            # boundary and re-parse later appends from its last line (breaking an open code fence).
            segment = type(self.markdown)(classes=" ".join(self.markdown.classes))
            await parent.mount(segment, after=live)
            await segment.append(tail)
            self._segments.append(segment)
            self._live_source = tail
        self.rendered += len(text)

    async def _rejoin(self, text: str) -> None:
        """Append the live segment's text and `text` to the segment before it, which becomes the live one."""
        live = self._segments.pop()
        previous = self._segments[-1]
        for snapshot in self._snapshots:
            if snapshot.markdown is previous:
                snapshot.restore()
        self._sealed.pop(previous, None)
        # `previous` ends on a block boundary, so this re-parses from its last block as appends always do.
        await previous.append(self._live_source + text)
        self._live_source = self._done_source.pop() + self._live_source + text
        await live.remove()

    def _split_point(self, source: str, starts: list[tuple[int, str]]) -> int | None:
        """Where to start a new segment in `source` (the live segment's text plus the new text), or None.

        Only once the live segment holds more than `segment_blocks` top-level blocks (`starts`: their first
        lines and types), and only before the latest block with no top margin (paragraph, list, table, rule)
        whose first line is complete (two backticks are a paragraph until the third makes them a fence):
        there the vertical gap is the previous block's bottom margin alone, as it is inside one Markdown
        widget, so segments render the same.
        """
        if self._segment_blocks <= 0 or len(starts) <= self._segment_blocks:
            return None
        line_offsets = [0]
        line_offsets.extend(i + 1 for i, char in enumerate(source) if char == "\n")
        # Before a block in the new text if one will do; before one already appended (which `_append`
        # takes back out, re-rendering the segment) only once the segment is twice as long as it should be.
        appended = len(self._live_source)
        oversized = len(starts) > 2 * self._segment_blocks
        for line, kind in reversed(starts[1:]):
            offset = line_offsets[line]
            if offset < appended and not oversized:
                return None
            if kind in _SPLIT_BEFORE and "\n" in source[offset:]:
                return offset
        return None

    async def _snapshot_sealed(self) -> None:
        """Replace each sealed segment the screen has laid out since it last changed by a snapshot of it
        (call inside a batch update: the snapshot and the segment swap places in one frame)."""
        waiting: dict[Markdown, int] = {}
        for segment, changed_at in self._sealed.items():
            parent = segment.parent
            if not isinstance(parent, Widget) or not segment.is_attached:
                continue
            strips = render_snapshot(segment) if self._layouts > changed_at else None
            if strips is None:
                waiting[segment] = changed_at
                continue
            snapshot = MarkdownSnapshot(segment, strips, on_restore=self._restored)
            segment.display = False
            await parent.mount(snapshot, before=segment)
            self._snapshots.append(snapshot)
        self._sealed = waiting

    async def _snapshot_last(self) -> None:
        """On stop: snapshot the segments sealed by the last appends once a frame has laid them out."""
        for _ in range(3):
            if not self._sealed:
                return
            with self.markdown.app.batch_update():
                await self._snapshot_sealed()
            if self._sealed:
                await self._next_frame()

    def _restored(self, segment: Markdown) -> None:
        # A snapshot gone stale while the reply streams (a resize, a new theme): take a new one once a
        # frame has laid the segment out again.
        if not self._stopped and segment not in self._sealed:
            self._sealed[segment] = self._layouts


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
