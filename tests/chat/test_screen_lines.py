"""`screen_lines` reads what the terminal shows: each line it composes from public APIs is compared, cell by
cell (character, colours and attributes, link target), with what the app wrote to a terminal, for Markdown
replies (wide code, tables whose cells overflow, links, hostile text) and the whole chat pane (settings,
log with reply snapshots, comparison card, prompt, footer) narrow and wide."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.pilot import Pilot

from batchboard.ui.screen_lines import Frame, Terminal, strip_cells
from batchboard.ui.widgets.chat_prompt import ChatPrompt
from batchboard.ui.widgets.chat_reply import MarkdownSnapshot, ReplyMarkdown
from chat.fakes import ChatTestApp, FakeBackend, FakeTimer
from chat.test_chat_reply import DOCUMENT, HOSTILE_DOCUMENT, WIDE_DOCUMENT, tokens_of

REPLY = WIDE_DOCUMENT + HOSTILE_DOCUMENT


@pytest.fixture(autouse=True)
def true_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app's console picks its colours from the environment: compare the styles at full precision.
    monkeypatch.setenv("COLORTERM", "truecolor")


class Pane(App[None]):
    CSS = "VerticalScroll { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__(driver_class=Terminal)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyMarkdown()


def assert_rows_are_the_terminals(app: App[Any]) -> int:
    """Every row of the screen: what `Frame.line` composes is what the terminal shows. Returns how many
    rows showed more than blanks (so a test knows it compared something)."""
    screen = app.screen
    width, height = screen.size
    frame = Frame(screen)
    inked = 0
    for y in range(height):
        composed = strip_cells(frame.line(y), app.console, width)
        shown = Terminal.of(app).cells(y, width)
        composed_text, shown_text = "".join(c[0] for c in composed), "".join(c[0] for c in shown)
        assert composed == shown, f"row {y}:\n{composed_text}\n{shown_text}"
        inked += bool(shown_text.strip())
    return inked


async def assert_pages_are_the_terminals(pilot: Pilot[Any], scroll: VerticalScroll) -> None:
    """The same for every page of `scroll`, top to bottom."""
    scroll.release_anchor()
    y = 0
    while True:
        scroll.scroll_to(y=y, animate=False, immediate=True)
        await pilot.pause()
        # A full repaint: where a widget's line carries more cells than its width (a Markdown table cell
        # narrower than its padding), a terminal shows it pushed right after a full repaint, as
        # `Frame.line` composes it, but cut by the next widget after a partial one.
        pilot.app.screen.refresh()
        await pilot.pause()
        assert assert_rows_are_the_terminals(pilot.app) > scroll.size.height // 2
        if scroll.scroll_y >= scroll.max_scroll_y:
            return
        y = int(scroll.scroll_y) + scroll.size.height


async def test_a_markdown_reply_reads_as_the_terminal_shows_it() -> None:
    app = Pane()
    async with app.run_test(headless=False, size=(80, 20)) as pilot:
        await app.query_one(ReplyMarkdown).update(REPLY)
        await pilot.pause()
        await assert_pages_are_the_terminals(pilot, app.query_one(VerticalScroll))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_chat_pane_reads_as_the_terminal_shows_it(size: tuple[int, int]) -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=tokens_of(DOCUMENT[:900], 40), batch_text="the batch's answer")
    app = ChatTestApp(backend, timer, driver_class=Terminal)
    async with app.run_test(headless=False, size=size) as pilot:
        prompt = app.screen.query_one(ChatPrompt)
        prompt.load_text("compare me")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        app.screen.query_one("#chat-log").focus()
        await pilot.press("b")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query(MarkdownSnapshot)  # the reply's finished segments are snapshots
        await assert_pages_are_the_terminals(pilot, app.screen.query_one("#chat-log", VerticalScroll))
