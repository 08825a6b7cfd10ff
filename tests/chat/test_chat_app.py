"""The chat pane inside batchboard's app: `t` opens it from the dashboard, `escape` returns without losing it,
and a comparison batch goes through the safe submit path and shows up in the table."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from rich.console import Console

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.screens.chat import ChatScreen
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.widgets.chat_prompt import ChatPrompt

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    emu = Emulator(
        EmulatorSettings(seed=0, demo=False, batch_duration=60.0, ttft=0.05, tokens_per_second=400.0),
        clock=clock,
    )
    with emu.running_in_thread():
        yield emu


@pytest.fixture
def app(emulator: Emulator, clock: ManualClock) -> Iterator[BatchboardApp]:
    def connect() -> BatchApi:
        assert emulator.base_url is not None
        return BatchApi(
            make_client(Connection(base_url=emulator.base_url, api_key="test-key", max_retries=0))
        )

    with Store.memory() as store:
        yield make_app(connect=connect, settings=Settings(poll_interval=1.0), store=store, clock=clock)


async def wait_for(predicate: object, limit: float = 15.0) -> None:
    for _ in range(int(limit / 0.02)):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_t_opens_the_pane_and_escape_keeps_it(app: BatchboardApp, clock: ManualClock) -> None:
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await wait_for(lambda: app.controller.api is not None)
        await pilot.press("t")
        await pilot.pause()
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        assert "claude-sonnet-5-5" in chat.models  # from the price table
        prompt = chat.query_one(ChatPrompt)
        prompt.load_text("Summarize why batches are cheaper.")
        await pilot.press("enter")
        await wait_for(lambda: chat.conversation.last is not None and chat.conversation.last.finished)
        turn = chat.conversation.last
        assert turn is not None and turn.reply and turn.error is None

        await pilot.press("ctrl+b")
        await wait_for(
            lambda: turn.batch is not None and (turn.batch.batch_id or turn.batch.error) is not None
        )
        assert turn.batch is not None and turn.batch.error is None, turn.batch.error
        batch_id = turn.batch.batch_id  # type: ignore[union-attr]
        assert app.store.label(batch_id or "") == "chat comparison (claude-sonnet-5-5)"
        clock.advance(120)  # the emulator ends the batch after 60 s of its clock
        await wait_for(lambda: turn.batch is not None and turn.batch.answer is not None)
        assert turn.batch.answer.status == "succeeded"  # type: ignore[union-attr]

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard
        await wait_for(lambda: batch_id in app.book.batches)
        # Its lineage: the table and the detail show the label and that the chat sent it.
        assert app.book.label(batch_id or "") == "chat comparison (claude-sonnet-5-5)"
        app.controller.open_detail(batch_id or "")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await wait_for(lambda: detail.lineage is not None and detail.current is not None)
        assert detail.current is not None
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(detail.render_batch(detail.current))
        text = console.export_text()
        assert "Label                   chat comparison (claude-sonnet-5-5)" in text
        assert "Submitted from          the chat pane" in text and "not sent by batchboard" not in text
        assert detail.check_action("attach", ()) is False  # its request is stored: nothing to link
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is chat and len(chat.conversation.turns) == 1
