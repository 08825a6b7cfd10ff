"""Test doubles for the chat pane: a manual timer (and one the emulator's streams step on), and a
scriptable, pausable backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import App, ComposeResult
from textual.driver import Driver
from textual.widgets import Static

from batchboard.core.chat.conversation import (
    BatchAnswer,
    ChatEvent,
    ChatRequest,
    StreamEnd,
    TextChunk,
    UsageSeen,
)
from batchboard.core.chat.stats import Usage
from batchboard.core.clock import ManualClock
from batchboard.core.pricing import price_for
from batchboard.ui.screens.chat import ChatScreen, open_chat

MODELS = ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5"]


class FakeTimer:
    """A monotonic timer that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SteppedTimer(FakeTimer):
    """A timer shared by the pane and the emulator's stream pacing (it is the emulator's `Pacer`): it stands
    still until the test `step`s it to the next deadline the emulator sleeps on. The emulator in its thread
    can then never run ahead of what the pane has read, so measured timings are exact under any load."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.steps = 0
        """Deadlines reached so far."""

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def time(self) -> float:
        return self()

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        sleeper = (deadline, loop, loop.create_future())
        with self._lock:
            if deadline <= self.now:
                return
            self._sleepers.append(sleeper)
        try:
            await sleeper[2]
        finally:
            with self._lock:
                if sleeper in self._sleepers:
                    self._sleepers.remove(sleeper)

    @property
    def waiting(self) -> bool:
        """Something sleeps on this timer."""
        with self._lock:
            return bool(self._sleepers)

    def step(self) -> None:
        """Move to the earliest deadline slept on and wake whoever sleeps until then."""
        with self._lock:
            if not self._sleepers:
                raise RuntimeError("nothing sleeps on the timer")
            self.now = min(deadline for deadline, _, _ in self._sleepers)
            due = [sleeper for sleeper in self._sleepers if sleeper[0] <= self.now]
            for sleeper in due:
                self._sleepers.remove(sleeper)
            self.steps += 1
        for _, loop, future in due:
            loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class StatusError(Exception):
    """Shaped like the SDK's APIStatusError (status_code, type, api_message, request_id)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.type = error_type
        self.api_message = message
        self.request_id = "req_test"


@dataclass
class FakeBackend:
    """Streams `chunks`, advancing `timer` by `ttft` before the first and `step` between the others.

    `pause_after=n` stops after n chunks until `resume` is set (for mid-stream snapshots and stop tests).
    """

    timer: FakeTimer
    chunks: Sequence[str] = ("Hello", " world", ".")
    ttft: float = 0.25
    step: float = 0.01
    input_tokens: int = 12
    fail_before: Exception | None = None
    fail_after: Exception | None = None
    pause_after: int | None = None
    batch_text: str = "Batched hello world."
    batch_delay: float = 3600.0
    requests: list[ChatRequest] = field(default_factory=list)
    submitted: list[tuple[ChatRequest, str]] = field(default_factory=list)
    paused: asyncio.Event = field(default_factory=asyncio.Event)
    resume: asyncio.Event = field(default_factory=asyncio.Event)
    closed: int = 0

    async def prepare(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.requests.append(request)
        try:
            if self.fail_before is not None:
                raise self.fail_before
            yield UsageSeen(Usage(input_tokens=self.input_tokens))
            for i, chunk in enumerate(self.chunks):
                if self.pause_after is not None and i == self.pause_after:
                    self.paused.set()
                    await self.resume.wait()
                self.timer.advance(self.ttft if i == 0 else self.step)
                yield TextChunk(chunk)
                await asyncio.sleep(0)
            if self.fail_after is not None:
                raise self.fail_after
            yield StreamEnd("end_turn", Usage(input_tokens=self.input_tokens, output_tokens=len(self.chunks)))
        finally:
            self.closed += 1

    async def submit(self, request: ChatRequest, custom_id: str) -> str:
        self.submitted.append((request, custom_id))
        return "msgbatch_01FakeFakeFakeFakeFakeFake"

    async def wait_for_batch(self, batch_id: str, custom_id: str, poll_interval: float) -> BatchAnswer:
        await asyncio.sleep(0)
        self.timer.advance(self.batch_delay)
        return BatchAnswer(
            "succeeded", self.batch_text, Usage(input_tokens=self.input_tokens, output_tokens=5)
        )


class ChatTestApp(App[None]):
    """A base screen with the chat pane pushed over it, as the dashboard would."""

    def __init__(
        self,
        backend: FakeBackend | object,
        timer: FakeTimer | None = None,
        driver_class: type[Driver] | None = None,
        **options: object,
    ) -> None:
        super().__init__(driver_class=driver_class)
        self.backend = backend
        self.timer = timer
        self.options = options
        self.clock = ManualClock()
        self.notices: list[str] = []
        """Every notification's message, in order (toasts also show with `run_test(notifications=True)`)."""

    def notify(self, message: str, **options: Any) -> None:
        self.notices.append(message)
        super().notify(message, **options)

    def compose(self) -> ComposeResult:
        yield Static("the table", id="table")

    def make_chat(self) -> ChatScreen:
        backend = self.backend
        options: dict[str, object] = {
            "submit": getattr(backend, "submit", None),
            "prices": price_for,
            "models": MODELS,
            "default_model": MODELS[0],
            "clock": self.clock,
            "poll_interval": 0.01,
        }
        if self.timer is not None:
            options["timer"] = self.timer
        options.update(self.options)
        return ChatScreen(backend, **options)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        open_chat(self, self.make_chat)
