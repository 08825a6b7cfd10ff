"""Pilot tests of the chat pane with a scripted backend: streaming, stop, errors, history, batch card,
export, links, and hostile model output. (The emulator-backed tests are in test_chat_emulator.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Input, Markdown, Static

from batchboard.core.chat.conversation import TurnState
from batchboard.ui import screen_lines
from batchboard.ui.screens.chat import ChatScreen, open_chat
from batchboard.ui.widgets.chat_prompt import ChatPrompt
from batchboard.ui.widgets.chat_reply import ReplyMarkdown
from batchboard.ui.widgets.chat_turn import TurnView
from chat.fakes import ChatTestApp, FakeBackend, FakeTimer, StatusError
from conftest import HOSTILE

SIZE = (110, 40)


def chat(app: ChatTestApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


async def ask(pilot: object, app: ChatTestApp, text: str) -> None:
    prompt = app.screen.query_one(ChatPrompt)
    prompt.focus()
    prompt.load_text(text)
    await pilot.press("enter")  # type: ignore[attr-defined]


async def settle(pilot: object, app: ChatTestApp) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def reply_text(pilot: object, view: TurnView) -> str:
    """The reply as the screen shows it."""
    log = view.screen.query_one("#chat-log", VerticalScroll)
    lines = await screen_lines.displayed(pilot, log, [view.reply])
    return "\n".join("".join(run[0] for run in line) for line in lines)


async def test_reply_streams_into_markdown_with_final_stats() -> None:
    timer = FakeTimer()
    backend = FakeBackend(
        timer, chunks=("# Title\n\n", "Some **bold", "** text", " and a list:\n\n- one\n- two\n")
    )
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, app, "What is streaming?")
        await settle(pilot, app)
        screen = chat(app)
        turn = screen.conversation.last
        assert turn is not None and turn.state is TurnState.DONE
        view = screen.query_one(TurnView)
        assert view.reply.source == "".join(backend.chunks)
        assert [type(b).__name__ for b in view.reply.children] == [
            "MarkdownH1",
            "MarkdownParagraph",
            "MarkdownBulletList",
        ]
        stats = str(view.stats.render())
        assert "time to first token 250 ms" in stats and "output tokens 4" in stats
        assert "cost (standard) $" in stats and "same request as a batch $" in stats
        assert backend.requests[0].messages[-1].text == "What is streaming?"
        assert screen.query_one(ChatPrompt).text == ""  # the prompt is cleared for the next one


async def test_ctrl_c_stops_the_stream_and_keeps_what_arrived() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("kept ", "also kept ", "never"), pause_after=2)
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "go")
        await backend.paused.wait()
        await pilot.pause(0.1)
        assert chat(app).streaming
        await pilot.press("ctrl+c")
        await settle(pilot, app)
        turn = chat(app).conversation.last
        assert turn is not None and turn.state is TurnState.STOPPED
        assert turn.reply == "kept also kept "
        view = chat(app).query_one(TurnView)
        assert view.reply.source == "kept also kept "
        assert "Stopped" in str(view.error.render())
        assert backend.closed == 1
        assert app.screen is chat(app)  # stopping does not leave the pane


async def test_escape_stops_first_then_returns_to_the_table_keeping_the_conversation() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("a", "b"), pause_after=1)
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await ask(pilot, app, "first")
        await backend.paused.wait()
        await pilot.press("escape")
        await settle(pilot, app)
        assert screen.conversation.last is not None
        assert screen.conversation.last.state is TurnState.STOPPED
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen and app.screen.query_one("#table")
        open_chat(app, app.make_chat)
        await pilot.pause()
        assert app.screen is screen and len(screen.query(TurnView)) == 1
        assert screen.query_one(TurnView).reply.source == "a"


async def test_errors_before_and_during_the_stream_are_plain_words() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, fail_before=StatusError(529, "overloaded_error", HOSTILE))
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "one")
        await settle(pilot, app)
        first = chat(app).query(TurnView).last()
        message = str(first.error.render())
        assert message.startswith(
            "The API is overloaded (HTTP 529, overloaded_error): [/] [@click=app.quit]x[/]"
        )
        assert first.error.display and first.turn.state is TurnState.FAILED

        backend.fail_before = None
        backend.chunks = ("partial ", "text")
        backend.fail_after = StatusError(200, "overloaded_error", "Overloaded")
        await ask(pilot, app, "two")
        await settle(pilot, app)
        second = chat(app).query(TurnView).last()
        assert second.reply.source == "partial text"
        message = str(second.error.render())
        assert "The stream broke off with an error (overloaded_error): Overloaded" in message
        assert "kept above" in message
        assert app.is_running


async def test_history_with_up_and_down_at_the_edges() -> None:
    timer = FakeTimer()
    app = ChatTestApp(FakeBackend(timer), timer)
    async with app.run_test(size=SIZE) as pilot:
        for text in ("first prompt", "second\nprompt"):
            await ask(pilot, app, text)
            await settle(pilot, app)
        prompt = chat(app).query_one(ChatPrompt)
        prompt.load_text("draft")
        await pilot.press("up")
        assert prompt.text == "second\nprompt"
        await pilot.press("down")  # cursor on the first of two lines: moves the cursor, not the history
        assert prompt.text == "second\nprompt" and prompt.cursor_location[0] == 1
        await pilot.press("up", "up")  # first line, then history
        assert prompt.text == "first prompt"
        await pilot.press("down")
        assert prompt.text == "second\nprompt"
        await pilot.press("down", "down")
        assert prompt.text == "draft"


async def test_multi_turn_sends_history_model_max_tokens_and_system() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("answer",))
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        screen.query_one("#chat-model").value = "claude-haiku-5-5"  # type: ignore[attr-defined]
        screen.query_one("#chat-max-tokens", Input).value = "77"
        screen.query_one("#chat-system", Input).value = "Be terse."
        await ask(pilot, app, "q1")
        await settle(pilot, app)
        await ask(pilot, app, "q2")
        await settle(pilot, app)
        second = backend.requests[1].params()
        assert second["model"] == "claude-haiku-5-5" and second["max_tokens"] == 77
        assert second["system"] == "Be terse."
        assert second["messages"] == [
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "q2"},
        ]


async def test_hostile_model_output_is_never_markup() -> None:
    timer = FakeTimer()
    hostile_reply = f"{HOSTILE}\n\n[@click=app.quit]click me[/]\n\n\x1b]0;title\x07 \x1b[2J"
    chunks = [hostile_reply[i : i + 3] for i in range(0, len(hostile_reply), 3)]
    backend = FakeBackend(timer, chunks=chunks, batch_text=HOSTILE)
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, app, HOSTILE)
        await settle(pilot, app)
        view = chat(app).query_one(TurnView)
        shown = await reply_text(pilot, view)
        assert "[@click=app.quit]x[/] list[int]" in shown
        assert "[@click=app.quit]click me[/]" in shown
        assert "\x1b" not in view.reply.source and "␛[31mred␛[0m" in shown and "␛[2J" in shown
        you = view.query_one(".chat-you", Static)
        assert "[@click=app.quit]x[/]" in str(you.render())
        # Clicking every line of the reply never runs an action from the text.
        for block in view.reply.query("MarkdownBlock"):
            await pilot.click(block, offset=(4, 0))
        await pilot.press("ctrl+b")
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert app.is_running
        card_text = "\n".join(str(s.render()) for s in view.batch_card.query(Static))
        assert "Batch msgbatch_" in card_text
        batched = view.batch_card.query(ReplyMarkdown).last()
        assert "[@click=app.quit]x[/]" in batched.source and "\x1b" not in batched.source


async def test_links_in_model_output_do_not_open_on_click() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("[docs](https://example.invalid/x) here",))
    app = ChatTestApp(backend, timer)
    opened: list[str] = []
    app.open_url = lambda url, **_: opened.append(url)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, app, "link please")
        await settle(pilot, app)
        paragraph = chat(app).query_one(TurnView).reply.query_one("MarkdownParagraph")
        await pilot.click(paragraph, offset=(3, 0))  # on "docs", past the padding
        await pilot.pause()
        assert opened == []
        assert any("https://example.invalid/x" in notice for notice in app.notices)


async def test_send_as_batch_shows_a_comparison_card() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("streamed ", "answer"), batch_delay=75.0)
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        assert screen.check_action("send_as_batch", ()) is False  # nothing to send yet
        await ask(pilot, app, "compare me")
        await settle(pilot, app)
        assert screen.check_action("send_as_batch", ()) is True
        screen.query_one("#chat-log").focus()
        await pilot.press("b")
        await settle(pilot, app)
        await pilot.pause(0.1)
        request, custom_id = backend.submitted[0]
        assert request == backend.requests[0] and custom_id.startswith("chat-compare-1-")
        turn = screen.conversation.last
        assert turn is not None and turn.batch is not None and turn.batch.end_to_end == pytest.approx(75.0)
        view = screen.query_one(TurnView)
        card = "\n".join(str(s.render()) for s in view.batch_card.query(Static))
        assert "end-to-end 75.00 s" in card
        # Like with like: the streamed reply's tokens priced both ways; each side keeps its own cost.
        assert "Same tokens both ways (the streamed reply's: in 12 · out 2)" in card and "(50% less)" in card
        assert "cost $0.00004 (standard price)\nin 12 · out 2" in card
        assert "cost $0.00004 (batch price)\nin 12 · out 5" in card
        sides = [md.source for md in view.batch_card.query(ReplyMarkdown)]
        assert sides == ["streamed answer", "Batched hello world."]
        assert screen.check_action("send_as_batch", ()) is False  # once per turn


async def test_export_writes_markdown_to_the_chosen_path(tmp_path: Path) -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("exported ", "reply \x1b[31m"))
    app = ChatTestApp(backend, timer, export_dir=tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, app, "save this")
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        path_input = app.screen.query_one("#chat-export-path", Input)
        assert path_input.value == str(tmp_path / "batchboard-chat-20261123-120000.md")
        target = tmp_path / "mine.md"
        path_input.value = str(target)
        await pilot.press("enter")
        await settle(pilot, app)
        text = target.read_text(encoding="utf-8")
        assert "### You\n\nsave this" in text and "exported reply ␛[31m" in text
        assert "| time to first token | 250 ms |" in text
        assert chat(app).last_export == target
        # An existing file needs a second enter.
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#chat-export-path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert "exists" in str(app.screen.query_one("#chat-export-problem", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is chat(app)


def test_reply_markdown_is_markdown() -> None:
    assert issubclass(ReplyMarkdown, Markdown)
