"""ReplyStream: coalesced appends, segments that render exactly like one Markdown document, backpressure."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlock

from batchboard.ui.widgets.chat_reply import ReplyMarkdown, ReplyStream

DOCUMENT = "".join(
    f"## Part {i}\n\nSome text about part {i}, with `code` and **bold**.\n\n"
    f"- one {i}\n- two {i}\n\n```python\nx = {i}\ny = x * 2\n```\n\n"
    f"| a | b |\n|---|---|\n| {i} | {i * 2} |\n\n"
    for i in range(8)
)


class Pane(App[None]):
    CSS = "VerticalScroll { height: 1fr; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyMarkdown()


def shape(scroll: Widget) -> list[tuple[str, str, int, int]]:
    def y_of(widget: Widget) -> int:
        y = 0
        node: Any = widget
        while node is not scroll:
            y += node.virtual_region.y
            node = node.parent
        return y

    blocks = list(scroll.query(MarkdownBlock))
    return [(type(b).__name__, str(b._content), y_of(b), b.outer_size.height) for b in blocks]


async def render_streamed(tokens: list[str], segment_blocks: int) -> tuple[list[Any], int, str, int]:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        scroll = app.query_one(VerticalScroll)
        scroll.anchor()
        stream = ReplyStream.get_stream(
            app.query_one(ReplyMarkdown), segment_blocks=segment_blocks, max_backlog=64
        )
        most_hidden = 0
        try:
            for token in tokens:
                await stream.write(token)
                most_hidden = max(most_hidden, len(scroll.query(".reply-spacer")))
                await asyncio.sleep(0)
        finally:
            await stream.stop()
        await pilot.pause()
        segments = len(scroll.query(Markdown))
        assert not scroll.query(".reply-spacer"), "hidden segments must come back when the stream stops"
        return shape(scroll), segments, stream.source, most_hidden


async def render_whole(text: str) -> list[Any]:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        await app.query_one(ReplyMarkdown).update(text)
        await pilot.pause()
        return shape(app.query_one(VerticalScroll))


async def test_segmented_stream_renders_like_one_document() -> None:
    tokens = [DOCUMENT[i : i + 5] for i in range(0, len(DOCUMENT), 5)]
    streamed, segments, source, most_hidden = await render_streamed(tokens, segment_blocks=3)
    assert source == DOCUMENT
    assert segments > 3  # it did split, several times
    assert most_hidden > 0  # and hid segments far above the view while following the end
    assert streamed == await render_whole(DOCUMENT)


async def test_unsegmented_stream_matches_too() -> None:
    tokens = [DOCUMENT[i : i + 7] for i in range(0, len(DOCUMENT), 7)]
    streamed, segments, _, _ = await render_streamed(tokens, segment_blocks=0)
    assert segments == 1
    assert streamed == await render_whole(DOCUMENT)


async def test_write_waits_when_the_screen_falls_behind() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)):
        stream = ReplyStream(app.query_one(ReplyMarkdown), max_backlog=10)  # not started: nothing drains
        await asyncio.wait_for(stream.write("short"), 1)  # under the backlog: returns at once
        blocked = asyncio.create_task(stream.write("x" * 20))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        stream.start()
        await asyncio.wait_for(blocked, 2)
        await stream.stop()
        assert app.query_one(ReplyMarkdown).source == "short" + "x" * 20


async def test_the_garbage_collector_is_paused_only_while_streaming() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)):
        assert gc.isenabled()
        stream = ReplyStream.get_stream(app.query_one(ReplyMarkdown))
        await stream.write("text")
        await asyncio.sleep(0.05)
        assert not gc.isenabled()
        await stream.stop()
        assert gc.isenabled()
