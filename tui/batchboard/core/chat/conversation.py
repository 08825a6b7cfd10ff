"""The chat pane's conversation without Textual: requests, the streamed events, turns, and `run_stream`,
which streams one turn through a `ChatBackend` (`gateway.chat.SdkChatBackend`, or a fake in tests).

Model output is untrusted: `printable` neutralises terminal control characters before anything shows or
saves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from batchboard.core.chat.stats import StreamStats, Timer, Usage
from batchboard.core.format import printable
from batchboard.core.gateway.errors import classify

Role = Literal["user", "assistant"]

# ---------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One Messages API request: what is streamed, and what "send as batch" sends again unchanged."""

    model: str
    max_tokens: int
    messages: tuple[ChatMessage, ...]
    system: str | None = None

    def params(self) -> dict[str, Any]:
        """Keyword arguments for `messages.stream()` / `messages.create()`, and a batch request's params."""
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": m.role, "content": m.text} for m in self.messages],
        }
        if self.system:
            params["system"] = self.system
        return params


# ---------------------------------------------------------------------------------------------- streaming


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str


@dataclass(frozen=True, slots=True)
class UsageSeen:
    """Usage reported while streaming (message_start has the input tokens; message_delta the output)."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class StreamEnd:
    stop_reason: str | None
    usage: Usage


ChatEvent = TextChunk | UsageSeen | StreamEnd


class ChatBackend(Protocol):
    """What the pane needs from the API. `SdkChatBackend` is the real one; tests pass fakes."""

    async def prepare(self) -> None:
        """Get ready to send (build the client), so the first request's timing excludes set-up."""
        ...

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Stream one reply. Closing the iterator early closes the HTTP stream."""
        ...

    async def wait_for_batch(self, batch_id: str, custom_id: str, poll_interval: float) -> BatchAnswer:
        """Poll until the batch ends, then fetch its one result."""
        ...


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The one result of a comparison batch."""

    status: str
    """succeeded, errored, canceled or expired."""
    text: str = ""
    usage: Usage | None = None
    error: str | None = None
    ended_at: datetime | None = None


# ---------------------------------------------------------------------------------------------- conversation


class TurnState(StrEnum):
    WAITING = "waiting"  # sent, nothing arrived yet
    STREAMING = "streaming"
    DONE = "done"
    STOPPED = "stopped"  # the user stopped it; what arrived is kept
    FAILED = "failed"  # an error before or during the stream; what arrived is kept


@dataclass
class BatchRun:
    """The same request sent as a one-request batch, for the comparison card."""

    custom_id: str
    submitted_at: float
    """Timer reading when the submit started."""
    batch_id: str | None = None
    finished_at: float | None = None
    """Timer reading when the result was in hand."""
    answer: BatchAnswer | None = None
    error: str | None = None

    @property
    def end_to_end(self) -> float | None:
        if self.finished_at is None:
            return None
        return self.finished_at - self.submitted_at


@dataclass
class Turn:
    index: int
    request: ChatRequest
    stats: StreamStats
    parts: list[str] = field(default_factory=list)
    state: TurnState = TurnState.WAITING
    error: str | None = None
    batch: BatchRun | None = None

    @property
    def prompt(self) -> str:
        return self.request.messages[-1].text

    @property
    def reply(self) -> str:
        """What arrived so far, already made `printable`."""
        return "".join(self.parts)

    @property
    def finished(self) -> bool:
        return self.state in (TurnState.DONE, TurnState.STOPPED, TurnState.FAILED)


class Conversation:
    """A multi-turn chat kept for as long as the app runs."""

    def __init__(self, timer: Timer = time.perf_counter) -> None:
        self.timer = timer
        self.turns: list[Turn] = []

    def history(self) -> list[ChatMessage]:
        """Earlier exchanges to send with the next prompt. Turns with no reply text are left out (the API
        rejects an empty assistant message); a stopped or broken reply is sent as far as it got."""
        messages: list[ChatMessage] = []
        for turn in self.turns:
            if turn.finished and turn.reply.strip():
                messages.append(ChatMessage("user", turn.prompt))
                messages.append(ChatMessage("assistant", turn.reply))
        return messages

    def start_turn(self, prompt: str, model: str, max_tokens: int, system: str | None) -> Turn:
        request = ChatRequest(
            model=model,
            max_tokens=max_tokens,
            messages=(*self.history(), ChatMessage("user", prompt)),
            system=system or None,
        )
        turn = Turn(index=len(self.turns) + 1, request=request, stats=StreamStats(self.timer))
        self.turns.append(turn)
        return turn

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


async def run_stream(
    backend: ChatBackend, turn: Turn, on_text: Callable[[str], Awaitable[None]] | None = None
) -> Turn:
    """Stream `turn`'s request into it: text, timings, usage, and the error in plain words if one comes.

    `on_text` receives each chunk (already `printable`) as it arrives, and may make the stream wait for the
    screen (backpressure). Cancelling the caller stops the stream
    and marks the turn STOPPED; what arrived is kept. Never raises for API errors.
    """
    stats = turn.stats
    try:
        await backend.prepare()
    except Exception as exc:
        turn.state = TurnState.FAILED
        turn.error = classify(exc).explanation
        return turn
    stats.start()
    events = backend.stream(turn.request)
    try:
        async for event in events:
            if isinstance(event, TextChunk):
                if not event.text:
                    continue
                stats.on_text(event.text)
                text = printable(event.text)
                turn.parts.append(text)
                turn.state = TurnState.STREAMING
                if on_text is not None:
                    await on_text(text)  # may wait: the next event is read when the screen has room
            elif isinstance(event, UsageSeen):
                stats.on_usage(event.usage)
            else:
                stats.finish(event.stop_reason, event.usage)
        stats.finish()
        turn.state = TurnState.DONE
    except asyncio.CancelledError:
        stats.finish()
        turn.state = TurnState.STOPPED
        raise
    except Exception as exc:
        stats.finish()
        turn.state = TurnState.FAILED
        turn.error = classify(exc).explanation
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    return turn
