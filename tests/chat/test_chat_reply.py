"""ReplyStream: coalesced appends, segments and snapshots that show exactly the lines of one Markdown
document, snapshots giving way to the Markdown when they would be stale, inert hostile text, backpressure."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Markdown

from batchboard.ui import screen_lines
from batchboard.ui.screen_lines import Line
from batchboard.ui.widgets.chat_reply import MarkdownSnapshot, ReplyMarkdown, ReplyStream, render_snapshot
from conftest import SHOWN

DOCUMENT = "".join(
    f"## Part {i}\n\nSome text about part {i}, with `code`, **bold** and [a link](https://example.invalid/{i}).\n\n"
    f"- one {i}\n- two {i}\n\n```python\nx = {i}\ny = x * 2\n```\n\n"
    f"| a | b |\n|---|---|\n| {i} | {i * 2} |\n\n"
    for i in range(8)
)
#: What a snapshot must clip or draw exactly as the screen does: a code line wider than the pane (clipped
#: by its fence), a table with more columns than fit (cells narrower than their padding spill over the
#: grid's lines on screen), a quote, nested and numbered lists.
WIDE_DOCUMENT = "".join(
    f"Intro {i}.\n\n```python\nx = '{'a' * 120}'\n```\n\n"
    f"| {' | '.join(f'col{c}' for c in range(30))} |\n|{'---|' * 30}\n| {' | '.join(['v' * 6] * 30)} |\n\n"
    f"> quote {i}\n> more\n\n1. one\n2. two\n   - nested [link](https://example.invalid/w{i})\n\n"
    for i in range(2)
)
HOSTILE_DOCUMENT = "".join(
    f"## {SHOWN}\n\n{SHOWN} [@click=app.quit]click me[/]\n\n- {SHOWN}\n\n"
    f"| {SHOWN} | x |\n|---|---|\n| y | z |\n\n"
    for _ in range(4)
)


class Pane(App[None]):
    CSS = "VerticalScroll { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyMarkdown()

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        self.links.append(event.href)


async def displayed(pilot: Pilot[Any], scroll: VerticalScroll) -> list[Line]:
    """Every line the screen shows of the reply (its Markdown segments and snapshots, whichever are
    displayed): the helper the chat benchmark uses too, which fails when a line cannot be read."""
    reply = [child for child in scroll.children if isinstance(child, Markdown | MarkdownSnapshot)]
    return await screen_lines.displayed(pilot, scroll, reply)


async def stream_into(app: Pane, tokens: list[str], segment_blocks: int, **kwargs: Any) -> ReplyStream:
    scroll = app.query_one(VerticalScroll)
    scroll.anchor()
    stream = ReplyStream.get_stream(
        app.query_one(ReplyMarkdown), segment_blocks=segment_blocks, max_backlog=64, **kwargs
    )
    try:
        for token in tokens:
            await stream.write(token)
            await asyncio.sleep(0)
    finally:
        await stream.stop()
    return stream


async def render_whole(text: str, size: tuple[int, int] = (80, 20)) -> list[Line]:
    app = Pane()
    async with app.run_test(size=size) as pilot:
        await app.query_one(ReplyMarkdown).update(text)
        await pilot.pause()
        return await displayed(pilot, app.query_one(VerticalScroll))


def tokens_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_segments_and_snapshots_show_the_lines_of_one_document() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(DOCUMENT, 5), segment_blocks=1)
        await pilot.pause()
        assert stream.source == DOCUMENT
        assert stream.segments > 8  # it did split, many times
        assert len(stream.snapshots) == stream.segments - 1  # every finished segment is a snapshot
        assert not any(segment.display for segment in list(app.query(ReplyMarkdown))[:-1])
        streamed = await displayed(pilot, app.query_one(VerticalScroll))
    whole = await render_whole(DOCUMENT)
    assert streamed == whole
    assert any(run[2] for line in whole for run in line)  # the links are compared too


async def test_snapshots_clip_and_overlap_as_the_screen_does() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(WIDE_DOCUMENT, 12), segment_blocks=1)
        await pilot.pause()
        assert stream.source == WIDE_DOCUMENT
        assert len(stream.snapshots) == stream.segments - 1 >= 4
        streamed = await displayed(pilot, app.query_one(VerticalScroll))
    assert streamed == await render_whole(WIDE_DOCUMENT)


async def test_no_snapshot_of_a_segment_the_screen_has_not_laid_out() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        markdown = app.query_one(ReplyMarkdown)
        with app.batch_update():  # no layout until it ends
            await markdown.update(DOCUMENT[:400])
            assert render_snapshot(markdown) is None
        await pilot.pause()
        strips = render_snapshot(markdown)
        assert strips is not None and len(strips) == markdown.outer_size.height
        with app.batch_update():
            await markdown.append("\n\nMore text.\n")
            assert render_snapshot(markdown) is None


async def test_a_block_that_changes_kind_never_starts_a_segment() -> None:
    # "``" is a paragraph until the third backtick makes it a fence (which has a top margin), and a
    # paragraph followed by "---" becomes a heading: neither may be the first block of a segment.
    text = "".join(
        f"Para {i}.\n\n- item\n\n```python\nx = {i}\n```\n\nSetext {i}\n---\n\nTail {i}.\n\n"
        for i in range(6)
    )
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(text, 1), segment_blocks=1)
        await pilot.pause()
        assert stream.source == text and stream.segments > 6
        streamed = await displayed(pilot, app.query_one(VerticalScroll))
    assert streamed == await render_whole(text)


async def test_unsegmented_stream_matches_too() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(DOCUMENT, 7), segment_blocks=0)
        await pilot.pause()
        assert stream.segments == 1 and not stream.snapshots
        streamed = await displayed(pilot, app.query_one(VerticalScroll))
    assert streamed == await render_whole(DOCUMENT)


async def test_a_resize_brings_the_markdown_back_and_a_stream_snapshots_it_again() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        half = len(DOCUMENT) // 2
        stream = ReplyStream.get_stream(app.query_one(ReplyMarkdown), segment_blocks=1, max_backlog=64)
        for token in tokens_of(DOCUMENT[:half], 5):
            await stream.write(token)
            await asyncio.sleep(0)
        await pilot.pause(0.1)
        before = stream.snapshots
        assert before
        await pilot.resize_terminal(64, 20)
        await pilot.pause()
        assert not any(snapshot.is_attached for snapshot in before)  # stale at the new width: gone
        for token in tokens_of(DOCUMENT[half:], 5):
            await stream.write(token)
            await asyncio.sleep(0)
        await stream.stop()
        await pilot.pause()
        assert len(stream.snapshots) == stream.segments - 1  # taken again, at the new width
        streamed = await displayed(pilot, app.query_one(VerticalScroll))
        # Once the reply has stopped, a resize leaves the Markdown itself.
        await pilot.resize_terminal(72, 20)
        await pilot.pause()
        assert not stream.snapshots
        resized = await displayed(pilot, app.query_one(VerticalScroll))
    assert streamed == await render_whole(DOCUMENT, size=(64, 20))
    assert resized == await render_whole(DOCUMENT, size=(72, 20))


async def test_the_mouse_over_a_finished_reply_brings_its_markdown_back() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(DOCUMENT, 9), segment_blocks=1)
        await pilot.pause()
        snapshot = stream.snapshots[-1]
        app.query_one(VerticalScroll).scroll_to_widget(snapshot, animate=False, immediate=True)
        await pilot.pause()
        await pilot.hover(snapshot, offset=(2, 0))
        await pilot.pause()
        assert not snapshot.is_attached and snapshot.markdown.display  # selectable text again
        assert len(stream.snapshots) == stream.segments - 2  # the others stay as they are


async def test_a_new_theme_brings_the_markdown_back() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(DOCUMENT, 9), segment_blocks=1)
        await pilot.pause()
        assert stream.snapshots
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        assert not stream.snapshots


async def test_a_link_in_a_snapshot_posts_link_clicked_and_opens_nothing() -> None:
    app = Pane()
    opened: list[str] = []
    app.open_url = lambda url, **_: opened.append(url)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(DOCUMENT, 5), segment_blocks=1)
        await pilot.pause()
        snapshot, x, y = next(
            (snapshot, x, y)
            for snapshot in stream.snapshots
            for y, strip in enumerate(snapshot.strips)
            for x, segment in _cells(strip)
            if segment.style is not None and "@click" in segment.style.meta
        )
        snapshot.streaming = True  # as while the reply streams: the mouse does not bring the Markdown back
        app.query_one(VerticalScroll).scroll_to_widget(snapshot, animate=False, immediate=True)
        await pilot.pause()
        await pilot.click(snapshot, offset=(x, y))
        await pilot.pause()
        assert snapshot.is_attached and snapshot.display  # the snapshot took the click
        assert app.links == [f"https://example.invalid/{app.links[0][-1]}"] and opened == []


def _cells(strip: Any) -> list[tuple[int, Any]]:
    cells, x = [], 0
    for segment in strip:
        cells.append((x, segment))
        x += segment.cell_length
    return cells


async def test_hostile_text_in_snapshots_stays_text() -> None:
    app = Pane()
    async with app.run_test(size=(80, 20)) as pilot:
        stream = await stream_into(app, tokens_of(HOSTILE_DOCUMENT, 4), segment_blocks=1)
        await pilot.pause()
        assert stream.snapshots
        scroll = app.query_one(VerticalScroll)
        text = "\n".join("".join(run[0] for run in line) for line in await displayed(pilot, scroll))
        assert "[@click=app.quit]click me[/]" in text and SHOWN.split(" [bold]")[0] in text
        # No run of the reply carries an action but a link (there are none here): clicking does nothing.
        for snapshot in stream.snapshots:
            assert not any(
                segment.style is not None and "@click" in segment.style.meta
                for strip in snapshot.strips
                for segment in strip
            )
            snapshot.streaming = True
            scroll.scroll_to_widget(snapshot, animate=False, immediate=True)
            await pilot.pause()
            for y in range(min(snapshot.outer_size.height, 10)):
                await pilot.click(snapshot, offset=(6, y))
        await pilot.pause()
        assert app.is_running and app.links == []


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
