"""The chat pane's SDK calls through the async client: `messages.stream`, and the one-request comparison
batch (create, retrieve until it ends, its result)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from batchboard.core.chat.conversation import (
    BatchAnswer,
    ChatEvent,
    ChatRequest,
    StreamEnd,
    TextChunk,
    UsageSeen,
)
from batchboard.core.chat.stats import Usage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

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
