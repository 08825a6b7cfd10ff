"""The chat pane against the real SDK and the local emulator: measured TTFT and token rate match what the
emulator was told (on a timer the emulator's stream pacing shares, so exactly and under any load), errors
before and in the middle of a stream, and a real one-request batch for the comparison card."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import orjson
import pytest

from batchboard.core.chat.compare import SafeBatchSubmitter
from batchboard.core.chat.conversation import TurnState
from batchboard.core.clock import ManualClock
from batchboard.core.gateway.chat import SdkChatBackend
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.jobs import origin
from batchboard.core.store import Store
from batchboard.core.submit.attach import local_sources
from batchboard.core.submit.intents import stored_requests
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.emulator.faults import Fault
from batchboard.ui.screens.chat import ChatScreen
from batchboard.ui.widgets.chat_prompt import ChatPrompt
from batchboard.ui.widgets.chat_turn import TurnView
from chat.fakes import ChatTestApp, SteppedTimer

TTFT = 0.3
RATE = 150.0
SIZE = (110, 40)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[tuple[Emulator, str]]:
    rate = getattr(request, "param", RATE)
    emu = Emulator(
        EmulatorSettings(seed=0, demo=False, batch_duration=0.3, ttft=TTFT, tokens_per_second=rate)
    )
    with emu.running_in_thread() as base_url:
        yield emu, base_url


def sdk_backend(base_url: str) -> SdkChatBackend:
    connection = Connection(base_url=base_url, api_key="sk-ant-emulator", max_retries=0)
    factory = partial(asyncio.to_thread, make_client, connection, _strict_response_validation=True)
    return SdkChatBackend(factory)


def app_for(base_url: str) -> tuple[ChatTestApp, SdkChatBackend]:
    backend = sdk_backend(base_url)
    return ChatTestApp(backend, submit=backend.submit_batch, poll_interval=0.05), backend


async def ask(pilot: object, app: ChatTestApp, text: str) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    await app.workers.wait_for_complete()  # the client is built before the first send
    prompt = screen.query_one(ChatPrompt)
    prompt.load_text(text)
    prompt.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    return screen


@pytest.fixture
def stepped() -> Iterator[tuple[SteppedTimer, str]]:
    """The emulator with its streams paced by a timer the pane shares, stepped by the test."""
    timer = SteppedTimer()
    emu = Emulator(EmulatorSettings(seed=0, demo=False, ttft=TTFT, tokens_per_second=RATE), pacer=timer)
    with emu.running_in_thread() as base_url:
        yield timer, base_url


async def stream_in_steps(screen: ChatScreen, timer: SteppedTimer, limit: float = 30.0) -> None:
    """Step the shared timer through the emulator's token deadlines until the reply ends, letting the pane
    read each delta before the next is due (waiting on state: a real-time limit only against a hang)."""
    deadline = time.monotonic() + limit
    while (turn := screen.conversation.last) is None or turn.state in (
        TurnState.WAITING,
        TurnState.STREAMING,
    ):
        if time.monotonic() > deadline:
            raise AssertionError(f"the stream did not end: {timer.steps} steps, {turn and turn.stats.chunks}")
        if turn is not None and turn.stats.chunks == timer.steps and timer.waiting:
            timer.step()
        await asyncio.sleep(0.001)


async def test_measured_ttft_and_rate_match_the_emulator(stepped: tuple[SteppedTimer, str]) -> None:
    """The pane measures with the timer the emulator paces its stream by: the figures must be what the
    emulator was told, exactly. A pane measuring from the wrong moment, or counting tokens wrongly, misses."""
    timer, base_url = stepped
    backend = sdk_backend(base_url)
    app = ChatTestApp(backend, timer=timer, submit=backend.submit_batch, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ask(pilot, app, "Explain how streaming replies differ from batched ones, in detail.")
        await stream_in_steps(screen, timer)
        await app.workers.wait_for_complete()
        await pilot.pause()
        turn = screen.conversation.last
        assert turn is not None
        assert turn.state is TurnState.DONE, turn.error
        stats = turn.stats
        assert stats.exact_usage and stats.output_tokens >= 30
        assert stats.input_tokens and stats.input_tokens > 0
        assert stats.chunks == timer.steps == stats.output_tokens  # one token a step
        view = screen.query(TurnView).last()
        assert view.reply.source == turn.reply and len(turn.reply) > 100
        assert stats.ttft == pytest.approx(TTFT)
        assert stats.tokens_per_second() == pytest.approx(RATE)
        assert stats.total() == pytest.approx(TTFT + (stats.output_tokens - 1) / RATE)


async def test_overloaded_before_the_stream_is_shown_and_the_next_prompt_works(
    emulator: tuple[Emulator, str],
) -> None:
    emu, base_url = emulator
    emu.faults.add(Fault(kind="overloaded", method="POST", path="/v1/messages", times=1))
    app, _ = app_for(base_url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ask(pilot, app, "first")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = screen.query(TurnView).last()
        assert view.turn.state is TurnState.FAILED
        assert str(view.error.render()).startswith("The API is overloaded (HTTP 529, overloaded_error)")
        await ask(pilot, app, "second")
        await app.workers.wait_for_complete()
        assert screen.conversation.last is not None and screen.conversation.last.state is TurnState.DONE


async def test_error_event_mid_stream_keeps_the_partial_text(emulator: tuple[Emulator, str]) -> None:
    emu, base_url = emulator
    emu.faults.add(Fault(kind="stream_error", method="POST", path="/v1/messages", after_events=3))
    app, _ = app_for(base_url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ask(pilot, app, "tell me about overloads")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = screen.query_one(TurnView)
        turn = view.turn
        assert turn.state is TurnState.FAILED and turn.reply
        assert view.reply.source == turn.reply
        message = str(view.error.render())
        assert "The stream broke off with an error (overloaded_error): Overloaded" in message
        assert "kept above" in message


async def test_send_as_batch_runs_a_real_one_request_batch(emulator: tuple[Emulator, str]) -> None:
    _, base_url = emulator
    backend = sdk_backend(base_url)
    store = Store.memory()
    submit = SafeBatchSubmitter(store, backend.client, ManualClock(datetime.now(UTC)))
    app = ChatTestApp(backend, submit=submit, poll_interval=0.05)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await ask(pilot, app, "Summarize the key points of batching.")
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+b")
        await app.workers.wait_for_complete()
        await pilot.pause()
        turn = screen.conversation.last
        assert turn is not None and turn.batch is not None, "no batch was sent"
        run = turn.batch
        assert run.error is None, run.error
        assert run.answer is not None and run.answer.status == "succeeded" and run.answer.text
        assert run.end_to_end is not None and run.end_to_end >= 0.3  # the emulator's batch_duration
        client = await backend.client()
        batch = await client.messages.batches.retrieve(run.batch_id or "")
        assert batch.processing_status == "ended" and batch.request_counts.succeeded == 1
        card = screen.query_one(TurnView).batch_card
        assert card.display and len(card.query("ReplyMarkdown")) == 2
        # Through the crash-safe path: the request was stored first, and the batch is known and labelled.
        assert run.batch_id in store.known_batch_ids()
        assert store.label(run.batch_id) == "chat comparison (claude-sonnet-5-5)"
        assert stored_requests(store, run.batch_id) == {run.custom_id: orjson.dumps(turn.request.params())}
        # Recorded like any submission: its source is the chat, so nothing is offered to attach.
        found = origin(store, run.batch_id)
        assert found.kind == "chat" and found.label == "chat comparison (claude-sonnet-5-5)"
        assert not local_sources(store).can_attach(run.batch_id)


@pytest.mark.parametrize("emulator", [20.0], indirect=True)
async def test_stop_mid_stream_against_the_emulator(emulator: tuple[Emulator, str]) -> None:
    _, base_url = emulator
    app, _ = app_for(base_url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ask(pilot, app, "Write a long answer about streaming.")
        for _ in range(250):  # up to 5 s for three chunks at 20 tokens/s
            if screen.conversation.last and len(screen.conversation.last.parts) >= 3:
                break
            await asyncio.sleep(0.02)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        turn = screen.conversation.last
        assert turn is not None and turn.state is TurnState.STOPPED and turn.reply
        assert turn.stats.total() is not None and turn.stats.total() < 3  # type: ignore[operator]
        assert screen.query_one(TurnView).reply.source == turn.reply
        assert app.screen is screen
