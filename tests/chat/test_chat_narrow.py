"""The chat pane in the terminals people have: at 80x24 the settings stack so the system prompt field is
whole, the log and prompt keep room, sending works, and the comparison card fits; wide terminals keep one
settings row."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select

from batchboard.ui.screen_lines import screen_line
from batchboard.ui.screens.chat import ChatScreen
from batchboard.ui.widgets.chat_prompt import ChatPrompt
from batchboard.ui.widgets.chat_turn import TurnView
from chat.fakes import ChatTestApp, FakeBackend, FakeTimer


def chat(app: ChatTestApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def fully_visible(widget: Widget) -> bool:
    """The whole widget is on screen: not clipped by its containers nor by the screen's edge."""
    screen = widget.screen
    region = widget.region
    return bool(region) and screen.can_view_entire(widget) and screen.region.contains_region(region)


def shown_text(widget: Widget) -> str:
    """What the screen shows where `widget` is."""
    region = widget.region
    lines = [screen_line(widget.screen, y).crop(region.x, region.right) for y in region.line_range]
    return "\n".join(line.text for line in lines)


async def test_at_80x24_the_system_field_is_whole_and_the_send_works() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("Short ", "answer."))
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = chat(app)
        assert screen.has_class("-stacked")
        system = screen.query_one("#chat-system", Input)
        model = screen.query_one("#chat-model", Select)
        max_tokens = screen.query_one("#chat-max-tokens", Input)
        for field in (system, model, max_tokens):
            assert fully_visible(field), field
        # A row of its own, at nearly the full width; the placeholder is shown whole.
        assert system.region.y > model.region.y and system.region.width >= 64
        assert "System prompt (optional)" in shown_text(system)
        log = screen.query_one("#chat-log", VerticalScroll)
        prompt = screen.query_one(ChatPrompt)
        assert log.region.height >= 10 and fully_visible(prompt) and prompt.region.height >= 3
        await pilot.click(system)
        await pilot.press(*"Be terse.")
        assert system.value == "Be terse."
        await pilot.click(prompt)
        await pilot.press(*"hello", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert backend.requests[0].params()["system"] == "Be terse."
        assert screen.query_one(TurnView).reply.source == "Short answer."


async def test_the_comparison_card_stacks_its_sides_and_fits_at_80_columns() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("streamed ", "answer"), batch_delay=75.0)
    app = ChatTestApp(backend, timer)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask_and_compare(pilot, app)
        card = chat(app).query_one(TurnView).batch_card
        sides = list(card.query(".chat-comparison-side").results(Widget))
        assert len(sides) == 2 and sides[1].region.y > sides[0].region.y
        log = chat(app).query_one("#chat-log", VerticalScroll)
        for side in sides:
            log.scroll_to_widget(side, animate=False, immediate=True)
            await pilot.pause()
            assert side.region.right <= card.content_region.right and fully_visible(side)


async def test_wide_terminals_keep_the_settings_on_one_row_and_follow_a_resize() -> None:
    timer = FakeTimer()
    app = ChatTestApp(FakeBackend(timer, chunks=("x",)), timer)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = chat(app)
        system = screen.query_one("#chat-system", Input)
        model = screen.query_one("#chat-model", Select)
        assert not screen.has_class("-stacked") and not system.compact
        assert system.region.y == model.region.y and fully_visible(system)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert screen.has_class("-stacked") and system.compact and model.compact
        assert system.region.y > model.region.y and fully_visible(system)


async def ask_and_compare(pilot: Pilot[Any], app: ChatTestApp) -> None:
    prompt = app.screen.query_one(ChatPrompt)
    prompt.focus()
    prompt.load_text("compare me")
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    app.screen.query_one("#chat-log").focus()
    await pilot.press("b")
    await app.workers.wait_for_complete()
    await pilot.pause()
