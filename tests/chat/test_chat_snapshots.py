"""SVG snapshots of the chat pane at 80x24, 100x30 and 120x40: mid-stream (a paused scripted stream, so it
is deterministic) and with a finished comparison card. Time comes from a manual timer and clock; Textual is
pinned while these are committed (update with `pytest --snapshot-update` after reviewing the diff)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from batchboard.ui.widgets.chat_prompt import ChatPrompt
from chat.fakes import ChatTestApp, FakeBackend, FakeTimer

#: The terminals people have: a split pane or an SSH session, a laptop, a larger window.
SIZES = [
    pytest.param((80, 24), id="80x24"),
    pytest.param((100, 30), id="100x30"),
    pytest.param((120, 40), id="120x40"),
]
REPLY = (
    "Streaming shows the answer **as it is written**: the first words arrive in a fraction of a second.\n\n",
    "A batch waits until the whole job is done, but costs half as much:\n\n",
    "- stream when someone is watching\n",
    "- batch when no one is waiting\n\n",
    "```python\nclient.messages.stream(...)\n```\n",
)


async def ask(pilot: Pilot[Any], text: str) -> None:
    prompt = pilot.app.screen.query_one(ChatPrompt)
    prompt.load_text(text)
    prompt.focus()
    await pilot.press("enter")


@pytest.mark.parametrize("size", SIZES)
def test_chat_pane_mid_stream(snap_compare: Any, size: tuple[int, int]) -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=REPLY, ttft=0.42, step=0.05, input_tokens=18, pause_after=3)
    app = ChatTestApp(backend, timer)

    async def run_before(pilot: Pilot[Any]) -> None:
        await ask(pilot, "When should I stream, and when should I batch?")
        await backend.paused.wait()
        await pilot.pause(0.3)
        pilot.app.screen.query_one("#chat-log").focus()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_chat_pane_comparison_card(snap_compare: Any, size: tuple[int, int]) -> None:
    timer = FakeTimer()
    backend = FakeBackend(
        timer,
        chunks=("Stream when someone is **watching**; ", "batch when no one is waiting."),
        ttft=0.38,
        step=0.04,
        input_tokens=14,
        batch_text="Batch when no one is waiting; stream when someone is **watching**.",
        batch_delay=312.0,
    )
    app = ChatTestApp(backend, timer)

    async def run_before(pilot: Pilot[Any]) -> None:
        await ask(pilot, "Stream or batch?")
        await pilot.app.workers.wait_for_complete()
        pilot.app.screen.query_one("#chat-log").focus()
        await pilot.press("b")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
