"""The chat pane's logic without Textual: the conversation, live stream statistics, costs at standard and
batch prices, the streamed-vs-batched comparison, Markdown export, and the SDK calls behind it.

Everything here is measured with an injectable monotonic timer, so tests control time. Model output is
untrusted: `printable` neutralises terminal control characters before anything shows or saves it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson

from batchboard.core.clock import Clock
from batchboard.core.format import printable
from batchboard.core.pricing import ModelPrice, TokenCounts
from batchboard.core.store import Store

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

Timer = Callable[[], float]
Role = Literal["user", "assistant"]

#: How the pane labels the one-request batches it sends, so the table shows what they are.
COMPARISON_ID_PREFIX = "chat-compare-"


# ---------------------------------------------------------------------------------------------- prices


#: Standard prices for a model, or None when its price is unknown (never guess, never price at zero).
PriceLookup = Callable[[str], ModelPrice | None]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_1h_tokens: int = 0
    """The part of cache_creation_input_tokens written with a one-hour lifetime (the rest is 5-minute)."""

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From an SDK `Usage` or `MessageDeltaUsage` (attribute access; missing or None fields are 0)."""

        def get(obj: Any, name: str) -> int:
            value = getattr(obj, name, None)
            return int(value) if isinstance(value, int) else 0

        creation = getattr(usage, "cache_creation", None)
        return cls(
            input_tokens=get(usage, "input_tokens"),
            output_tokens=get(usage, "output_tokens"),
            cache_creation_input_tokens=get(usage, "cache_creation_input_tokens"),
            cache_read_input_tokens=get(usage, "cache_read_input_tokens"),
            cache_write_1h_tokens=get(creation, "ephemeral_1h_input_tokens") if creation else 0,
        )

    def tokens(self) -> TokenCounts:
        """Billed tokens by kind for the pricing arithmetic (writes without a breakdown are 5-minute)."""
        write_1h = min(self.cache_write_1h_tokens, self.cache_creation_input_tokens)
        return TokenCounts(
            input=self.input_tokens,
            output=self.output_tokens,
            cache_write_5m=self.cache_creation_input_tokens - write_1h,
            cache_write_1h=write_1h,
            cache_read=self.cache_read_input_tokens,
        )


def cost(usage: Usage, price: ModelPrice, *, batch: bool = False) -> float:
    """What `usage` costs in USD at standard prices, or at batch prices (50% of every rate)."""
    return (price.at_batch() if batch else price).cost(usage.tokens())


def format_cost(value: float | None) -> str:
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.5f}"
    return f"${value:.4f}"


def format_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60)
    if minutes < 60:
        return f"{minutes:.0f} min {seconds:02.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:.0f} h {minutes:02.0f} min"


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


class StreamStats:
    """Time to first token, total time, token rate and usage of one streamed reply, read live or after.

    Times come from `timer` (monotonic seconds). The output token count is an estimate (≈4 characters a
    token) until the API reports usage; `exact_usage` says which one you are looking at.
    """

    def __init__(self, timer: Timer = time.perf_counter) -> None:
        self._timer = timer
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self.ended_at: float | None = None
        self.chars = 0
        self.chunks = 0
        self.usage: Usage | None = None
        self.exact_usage = False
        self.stop_reason: str | None = None

    def start(self) -> None:
        self.started_at = self._timer()

    def on_text(self, text: str) -> None:
        now = self._timer()
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self.chars += len(text)
        self.chunks += 1

    def on_usage(self, usage: Usage) -> None:
        # message_delta usage carries only the cumulative output tokens: keep the input seen at message_start.
        if self.usage is not None and not usage.input_tokens:
            usage = Usage(
                input_tokens=self.usage.input_tokens,
                output_tokens=usage.output_tokens or self.usage.output_tokens,
                cache_creation_input_tokens=self.usage.cache_creation_input_tokens,
                cache_read_input_tokens=self.usage.cache_read_input_tokens,
                cache_write_1h_tokens=self.usage.cache_write_1h_tokens,
            )
        self.usage = usage

    def finish(self, stop_reason: str | None = None, usage: Usage | None = None) -> None:
        if self.ended_at is None:
            self.ended_at = self._timer()
        if usage is not None:
            self.usage = usage
            self.exact_usage = True
        if stop_reason is not None:
            self.stop_reason = stop_reason

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    @property
    def ttft(self) -> float | None:
        """Seconds from sending the request to the first text arriving."""
        if self.started_at is None or self.first_token_at is None:
            return None
        return self.first_token_at - self.started_at

    def total(self) -> float | None:
        """Seconds from sending to the end of the stream (so far, while it runs)."""
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else self._timer()
        return end - self.started_at

    @property
    def output_tokens(self) -> int:
        """The final count once known; while streaming, the larger of the API's running count (message_start
        already says 1) and an estimate from the text so far."""
        reported = self.usage.output_tokens if self.usage is not None else 0
        if self.exact_usage:
            return reported
        return max(reported, math.ceil(self.chars / 4))

    @property
    def input_tokens(self) -> int | None:
        return self.usage.input_tokens if self.usage is not None else None

    def tokens_per_second(self) -> float | None:
        """Output tokens per second of generation, from the first token to the last (or to now)."""
        if self.first_token_at is None:
            return None
        end = self.last_token_at if self.ended_at is not None else self._timer()
        span = (end or self.first_token_at) - self.first_token_at
        tokens = self.output_tokens
        if span <= 0 or tokens < 2:
            return None
        # Tokens after the first arrive over `span`: the first one's arrival is what TTFT measures.
        return (tokens - 1) / span

    def usage_for_cost(self) -> Usage:
        """The final usage, or an estimate from what arrived so far."""
        if self.usage is not None and self.exact_usage:
            return self.usage
        base = self.usage or Usage()
        return Usage(
            input_tokens=base.input_tokens,
            output_tokens=self.output_tokens,
            cache_creation_input_tokens=base.cache_creation_input_tokens,
            cache_read_input_tokens=base.cache_read_input_tokens,
            cache_write_1h_tokens=base.cache_write_1h_tokens,
        )

    def costs(self, price: ModelPrice | None) -> tuple[float | None, float | None]:
        """(standard, batch) cost of this reply in USD, None when the price is unknown."""
        if price is None:
            return None, None
        usage = self.usage_for_cost()
        return cost(usage, price), cost(usage, price, batch=True)


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


#: Submits `request` as a one-request batch whose custom_id is the second argument; returns the batch id.
SubmitBatch = Callable[[ChatRequest, str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The one result of a comparison batch."""

    status: str
    """succeeded, errored, canceled or expired."""
    text: str = ""
    usage: Usage | None = None
    error: str | None = None
    ended_at: datetime | None = None


def describe_error(exc: BaseException) -> str:
    """Plain words for an SDK exception (or anything else), without importing the SDK."""
    status = getattr(exc, "status_code", None)
    error_type = getattr(exc, "type", None)
    api_message = getattr(exc, "api_message", None) or getattr(exc, "message", None)
    request_id = getattr(exc, "request_id", None)
    if isinstance(status, int):
        if status == 200:
            # The SDK raises APIStatusError with the stream's 200 for an `error` event mid-stream.
            head = f"The stream broke off with an error ({error_type or 'unknown error'})"
        else:
            head = {
                529: "The API is overloaded",
                429: "Rate limited",
                401: "The API key was refused",
                403: "Permission denied",
                404: "Not found",
                400: "The API rejected the request",
                413: "The request is too large",
                500: "The API had an internal error",
                504: "The API timed out",
            }.get(status, "The API returned an error")
            head += f" (HTTP {status}{', ' + str(error_type) if error_type else ''})"
        text = f"{head}: {api_message}" if api_message else head
        if request_id:
            text += f" [request {request_id}]"
        return text
    name = type(exc).__name__
    if "Timeout" in name:
        return "The API did not answer in time (timeout)."
    if "Connection" in name:
        return f"Could not reach the API ({name}): {exc}"
    return f"Unexpected error ({name}): {exc}"


ClientFactory = Callable[[], Awaitable["AsyncAnthropic"]]


class SdkChatBackend:
    """The pane's API calls through the SDK's async client (`messages.stream`, batch create/retrieve/results).

    The client comes from an async factory (the SDK import is slow, so the app builds it in a thread) and
    is made once.
    """

    def __init__(
        self, client_factory: ClientFactory, sleep: Callable[[float], Awaitable[None]] | None = None
    ):
        self._client_factory = client_factory
        self._client: AsyncAnthropic | None = None
        self._lock = asyncio.Lock()
        self._sleep = sleep or asyncio.sleep

    async def prepare(self) -> None:
        """Build the client and warm the SDK's streaming code (in a thread), so the first reply's time to
        first token is the API's, not the SDK's one-off set-up (about 40-200 ms of lazy model building)."""
        await self.client()
        if not SdkChatBackend._warmed:
            await asyncio.to_thread(warm_sdk_streaming)
            SdkChatBackend._warmed = True

    _warmed = False

    async def client(self) -> AsyncAnthropic:
        async with self._lock:
            if self._client is None:
                self._client = await self._client_factory()
            return self._client

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        client = await self.client()
        async with client.messages.stream(**request.params()) as stream:
            async for event in stream:
                if event.type == "text":
                    yield TextChunk(event.text)
                elif event.type == "message_start":
                    yield UsageSeen(Usage.from_api(event.message.usage))
                elif event.type == "message_delta":
                    yield UsageSeen(Usage.from_api(event.usage))
            final = stream.current_message_snapshot
            yield StreamEnd(final.stop_reason, Usage.from_api(final.usage))

    async def submit_batch(self, request: ChatRequest, custom_id: str) -> str:
        """Create a one-request batch directly, with no stored intent (tests and store-less tools; the app
        sends through `SafeBatchSubmitter`)."""
        client = await self.client()
        batch = await client.messages.batches.create(
            requests=[{"custom_id": custom_id, "params": request.params()}]  # type: ignore[typeddict-item]
        )
        return str(batch.id)

    async def wait_for_batch(self, batch_id: str, custom_id: str, poll_interval: float) -> BatchAnswer:
        """One poll loop: retrieve every `poll_interval` seconds (doubling up to a minute on errors)."""
        client = await self.client()
        delay = poll_interval
        failures = 0
        while True:
            try:
                batch = await client.messages.batches.retrieve(batch_id)
            except Exception:
                failures += 1
                if failures >= 8:
                    raise
                delay = min(delay * 2, 60.0)
            else:
                failures = 0
                delay = poll_interval
                if batch.processing_status == "ended":
                    return await self._result(client, batch_id, custom_id, batch.ended_at)
            await self._sleep(delay)

    async def _result(
        self, client: AsyncAnthropic, batch_id: str, custom_id: str, ended_at: datetime | None
    ) -> BatchAnswer:
        results = await client.messages.batches.results(batch_id)
        async for line in results:
            if line.custom_id != custom_id:
                continue
            result = line.result
            if result.type == "succeeded":
                message = result.message
                text = "".join(block.text for block in message.content if block.type == "text")
                return BatchAnswer("succeeded", text, Usage.from_api(message.usage), ended_at=ended_at)
            if result.type == "errored":
                inner = result.error.error
                return BatchAnswer("errored", error=f"{inner.type}: {inner.message}", ended_at=ended_at)
            return BatchAnswer(result.type, ended_at=ended_at)
        return BatchAnswer(
            "errored", error="the batch's results did not include this request", ended_at=ended_at
        )


_CANNED_STREAM = b"".join(
    b"event: " + name.encode() + b"\ndata: " + data.encode() + b"\n\n"
    for name, data in (
        (
            "message_start",
            '{"type":"message_start","message":{"id":"msg_warm","type":"message","role":"assistant",'
            '"model":"warm","content":[],"stop_reason":null,"stop_sequence":null,'
            '"usage":{"input_tokens":1,"output_tokens":1}}}',
        ),
        (
            "content_block_start",
            '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        ),
        ("ping", '{"type":"ping"}'),
        (
            "content_block_delta",
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}',
        ),
        ("content_block_stop", '{"type":"content_block_stop","index":0}'),
        (
            "message_delta",
            '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
            '"usage":{"output_tokens":1}}',
        ),
        ("message_stop", '{"type":"message_stop"}'),
    )
)


def warm_sdk_streaming() -> None:
    """Run one canned stream through the SDK's own parsing, offline, on a private event loop.

    The SDK builds its pydantic models and type adapters on first use; doing that here (from a thread)
    keeps it out of the first measured time to first token. Nothing leaves the process.
    """
    import httpx2
    from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

    def canned(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_CANNED_STREAM)

    async def run() -> None:
        http = DefaultAsyncHttpxClient(transport=httpx2.MockTransport(canned))
        client = AsyncAnthropic(api_key="warm-up", base_url="http://warm.invalid", http_client=http)
        try:
            async with client.messages.stream(
                model="warm", max_tokens=1, messages=[{"role": "user", "content": "."}]
            ) as stream:
                async for _ in stream:
                    pass
        finally:
            await client.close()

    asyncio.run(run())


class SafeBatchSubmitter:
    """ "Send as batch" through the crash-safe submit path: the request and the intent are stored before
    create, the batch is labelled as a chat comparison, and it lands in the store (so the table shows it)."""

    def __init__(self, store: Store, client_factory: ClientFactory, clock: Clock) -> None:
        self.store = store
        self.client_factory = client_factory
        self.clock = clock

    async def __call__(self, request: ChatRequest, custom_id: str) -> str:
        from batchboard.core.submit import Submitter, prepare_requests

        # The submit tables are registered when that module is first imported, maybe after the store opened.
        self.store.ensure_schemas()
        submission = prepare_requests(
            self.store,
            [(custom_id, orjson.dumps(request.params()))],
            kind="chat",
            label=f"chat comparison ({request.model})",
            clock=self.clock,
        )
        client = await self.client_factory()
        sent = await Submitter(self.store, client, self.clock).send(submission.id)
        return sent.batch_ids[0]


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


@dataclass(frozen=True, slots=True)
class Comparison:
    """Streamed vs batched, for one request."""

    streamed_ttft: float | None
    streamed_total: float | None
    batched_end_to_end: float | None
    streamed_cost: float | None
    batched_cost: float | None

    @property
    def saving(self) -> float | None:
        if self.streamed_cost is None or self.batched_cost is None:
            return None
        return self.streamed_cost - self.batched_cost

    @property
    def saving_percent(self) -> float | None:
        if self.saving is None or not self.streamed_cost:
            return None
        return 100 * self.saving / self.streamed_cost


def compare(turn: Turn, price: ModelPrice | None) -> Comparison:
    """Each side is priced from its own final usage: streamed at standard prices, the batch at 50%."""
    batch = turn.batch
    streamed_cost = turn.stats.costs(price)[0]
    batched_cost: float | None = None
    if (
        price is not None
        and batch is not None
        and batch.answer is not None
        and batch.answer.usage is not None
    ):
        batched_cost = cost(batch.answer.usage, price, batch=True)
    return Comparison(
        streamed_ttft=turn.stats.ttft,
        streamed_total=turn.stats.total(),
        batched_end_to_end=batch.end_to_end if batch else None,
        streamed_cost=streamed_cost,
        batched_cost=batched_cost,
    )


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
        turn.error = describe_error(exc)
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
        turn.error = describe_error(exc)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    return turn


# ---------------------------------------------------------------------------------------------- export


def stats_lines(turn: Turn, price: ModelPrice | None, *, compact: bool = False) -> list[tuple[str, str]]:
    """(label, value) pairs describing a turn's stream, as the pane and the export show them.

    `compact` uses short labels, for the one-line live bar. Values marked ≈ are estimates until the
    API reports the final usage.
    """
    stats = turn.stats
    standard, batched = stats.costs(price)
    approx = "" if stats.exact_usage else "≈"
    rate = stats.tokens_per_second()
    labels = (
        ("TTFT", "total", "tokens/s", "in", "out", "standard", "as a batch")
        if compact
        else (
            "time to first token",
            "total time",
            "output tokens/s",
            "input tokens",
            "output tokens",
            "cost (standard)",
            "same request as a batch",
        )
    )
    values = (
        format_seconds(stats.ttft),
        format_seconds(stats.total()),
        f"{rate:.1f}" if rate is not None else "–",
        str(stats.input_tokens) if stats.input_tokens is not None else "–",
        f"{approx}{stats.output_tokens}",
        approx + format_cost(standard) if standard is not None else format_cost(None),
        approx + format_cost(batched) if batched is not None else format_cost(None),
    )
    rows = list(zip(labels, values, strict=True))
    if stats.stop_reason and not compact:
        rows.append(("stop reason", stats.stop_reason))
    return rows


def to_markdown(
    conversation: Conversation, prices: PriceLookup, exported_at: datetime, system: str | None = None
) -> str:
    """The conversation with each turn's stats (and comparison, if any) as a Markdown document."""
    out = [f"# batchboard chat\n\nExported {exported_at.strftime('%Y-%m-%d %H:%M:%S %Z')}.\n"]
    if system:
        out.append(f"System prompt:\n\n> {printable(system).replace(chr(10), chr(10) + '> ')}\n")
    for turn in conversation.turns:
        request = turn.request
        price = prices(request.model)
        out.append(f"## Turn {turn.index} · {request.model} · max_tokens {request.max_tokens}\n")
        out.append(f"### You\n\n{printable(turn.prompt)}\n")
        out.append(f"### Claude (streamed, {turn.state.value})\n\n{turn.reply or '*(no text)*'}\n")
        if turn.error:
            out.append(f"**Error:** {printable(turn.error)}\n")
        out.append("| stat | value |\n|---|---|")
        out.extend(f"| {label} | {value} |" for label, value in stats_lines(turn, price))
        out.append("")
        if turn.batch is not None:
            out.append(_comparison_markdown(turn, price))
    return "\n".join(out).rstrip() + "\n"


def _comparison_markdown(turn: Turn, price: ModelPrice | None) -> str:
    batch = turn.batch
    assert batch is not None
    lines = [f"### Sent as a batch ({batch.batch_id or 'not created'}, custom_id {batch.custom_id})\n"]
    if batch.error:
        lines.append(f"**Error:** {printable(batch.error)}\n")
    if batch.answer is None:
        lines.append("*(the batch had not ended when this was exported)*\n")
        return "\n".join(lines)
    c = compare(turn, price)
    lines += [
        "| | streamed | batched |",
        "|---|---|---|",
        f"| first token / end-to-end | {format_seconds(c.streamed_ttft)} / {format_seconds(c.streamed_total)}"
        f" | {format_seconds(c.batched_end_to_end)} |",
        f"| cost | {format_cost(c.streamed_cost)} | {format_cost(c.batched_cost)} |",
        f"| saving | | {format_cost(c.saving)}"
        + (f" ({c.saving_percent:.0f}%)" if c.saving_percent is not None else "")
        + " |",
        "",
        f"Batched answer ({batch.answer.status}):\n",
        printable(batch.answer.text)
        if batch.answer.text
        else f"*({printable(batch.answer.error or 'no text')})*",
        "",
    ]
    return "\n".join(lines)


def comparison_custom_id(turn_index: int, salt: int) -> str:
    """A custom_id that labels the batch as a chat comparison (matches ^[a-zA-Z0-9_-]{1,64}$)."""
    return f"{COMPARISON_ID_PREFIX}{turn_index}-{salt:x}"[:64]
