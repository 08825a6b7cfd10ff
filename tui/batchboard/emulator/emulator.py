"""`Emulator`: the local Anthropic API, started in the current event loop or in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from aiohttp import web

from batchboard.emulator._util import base62_id, rfc3339
from batchboard.emulator.faults import FaultSet
from batchboard.emulator.pacing import LoopPacer, Pacer
from batchboard.emulator.server import build_app
from batchboard.emulator.settings import EmulatorSettings
from batchboard.emulator.store import ApiError, BatchStore
from batchboard.emulator.synthetic import SyntheticRequests, Workload
from batchboard.emulator.validation import Prompt


class Clock(Protocol):
    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


#: Requests kept in `Emulator.request_log`: a long `batchboard emulator` run must not grow without bound.
REQUEST_LOG_SIZE = 10_000


class RequestLog(deque[tuple[str, str]]):
    """The latest (method, path) pairs served, oldest dropped first; `served` counts every one. Slices
    give lists, as the plain list it replaces did."""

    def __init__(self, maxlen: int = REQUEST_LOG_SIZE) -> None:
        super().__init__(maxlen=maxlen)
        self.served = 0
        self.peers: set[tuple[str, int]] = set()
        """The client ends (host, port) that sent API requests: one per connection the clients opened."""

    def append(self, entry: tuple[str, str]) -> None:
        self.served += 1
        super().append(entry)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        return super().__getitem__(index)


class Emulator:
    """A faithful local stand-in for the Anthropic API (Message Batches, Messages, streaming, models).

    Time comes from `clock` (anything with `.now()` returning aware UTC), so a test can share a manual clock
    with the app and compress hours into milliseconds. Batch state is computed from the clock on each read.
    Streamed replies are paced by `pacer` (monotonic; the event loop's by default).
    """

    def __init__(
        self, settings: EmulatorSettings | None = None, clock: Clock | None = None, pacer: Pacer | None = None
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.clock: Clock = clock or _SystemClock()
        self.pacer: Pacer = pacer or LoopPacer()
        #: Ids derive from the seed and this start instant: a restarted emulator never reissues an id a
        #: client has seen, while one started on an injected clock at the same instant repeats its ids.
        self.instance = rfc3339(self.clock.now())
        self.store = BatchStore(self.settings.seed, self.instance)
        self.faults = FaultSet()
        self.request_log = RequestLog()
        self.base_url: str | None = None
        self._prompt_cache: dict[str, datetime] = {}
        self._request_number = 0
        self._message_number = 0
        self._demo_built = False
        self.demo_batch_ids: list[str] = []
        """The demo world's batch ids, in the order of `demo.DEMO_BATCHES` (empty without the demo)."""
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ---

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0: a free port) in the running loop; returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self.ensure_demo()
        runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @contextlib.asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        base_url = await self.start(host, port)
        try:
            yield base_url
        finally:
            await self.stop()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a daemon thread with its own event loop (for sync clients and the app's demo mode)."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running in a thread")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="batchboard-emulator", daemon=True)
        thread.start()
        try:
            base_url = asyncio.run_coroutine_threadsafe(self.start(host, port), loop).result(timeout=30)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        return base_url

    def stop_in_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            self._loop = self._thread = None

    @contextlib.contextmanager
    def running_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        base_url = self.start_in_thread(host, port)
        try:
            yield base_url
        finally:
            self.stop_in_thread()

    # --- world ---

    def ensure_demo(self) -> None:
        """Build the seeded demo world (once, relative to the clock's current time) unless demo is off."""
        if self.settings.demo and not self._demo_built:
            from batchboard.emulator.demo import build_demo_world

            self.demo_batch_ids = build_demo_world(self)
        self._demo_built = True

    def add_batch(
        self,
        count: int = 1000,
        model: str = "claude-haiku-5-5",
        created_at: datetime | None = None,
        duration: float | None = None,
        error_rate: float | None = None,
        custom_id_prefix: str = "req",
        *,
        kind: str = "classify",
        max_tokens: int = 1024,
        invalid_rate: float = 0.0,
        cache_ttl: str | None = None,
        system_tokens: int = 0,
        cancel_initiated_at: datetime | None = None,
        cancel_delay: float | None = None,
        schema: dict[str, Any] | None = None,
        schema_share: float = 0.0,
        short_share: float = 0.0,
        short_max_tokens: int = 16,
        refusal_rate: float | None = None,
        invalid_output_rate: float | None = None,
    ) -> str:
        """Add a batch directly, without HTTP; its `count` requests are synthesized on demand, so thousands of
        batches cost next to nothing. `kind` is classify, sentiment, summarize or extract. A `schema_share`
        of the requests ask for `schema` as their output format, a `short_share` have `short_max_tokens`
        (cut at max_tokens); refusals and broken outputs follow the settings' rates unless given."""
        if count < 1:
            raise ValueError("a batch has at least one request")
        if created_at is not None and created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        workload = Workload(
            model=model,
            kind=kind,
            max_tokens=max_tokens,
            cache_ttl=cache_ttl,
            system_tokens=system_tokens,
            invalid_rate=invalid_rate,
            error_rate=self.settings.error_rate if error_rate is None else error_rate,
            schema=schema,
            schema_share=schema_share if schema is not None else 0.0,
            short_share=short_share,
            short_max_tokens=short_max_tokens,
            refusal_rate=self.settings.refusal_rate if refusal_rate is None else refusal_rate,
            invalid_output_rate=(
                self.settings.invalid_output_rate if invalid_output_rate is None else invalid_output_rate
            ),
        )
        salt = f"{custom_id_prefix}:{count}:{self.store.next_seq}:{model}"
        source = SyntheticRequests(count, custom_id_prefix, workload, self.settings.seed, salt)
        batch = self.store.add(
            created_at or self.clock.now(),
            self.settings.batch_duration if duration is None else duration,
            source,
            cancel_delay=cancel_delay,
        )
        batch.cancel_initiated_at = cancel_initiated_at
        return batch.id

    def request_lines(self, batch_id: str) -> Iterator[bytes]:
        """A synthesized batch's requests as the JSONL a client would have sent (to attach to it); ApiError
        404 for a batch created over HTTP, whose parameters are not kept."""
        source = self.store.get(batch_id).source
        if not isinstance(source, SyntheticRequests):
            raise ApiError(
                404,
                "not_found_error",
                f"Batch {batch_id} was created over HTTP; the emulator keeps no copy of its requests.",
            )
        for index in range(len(source)):
            yield orjson.dumps(source.params(index)) + b"\n"

    # --- helpers for the server ---

    def next_request_id(self) -> str:
        self._request_number += 1
        return base62_id("req_", self.settings.seed, self.instance, "request", self._request_number)

    def next_message_id(self) -> str:
        self._message_number += 1
        return base62_id("msg_", self.settings.seed, self.instance, "message", self._message_number)

    def touch_prompt_cache(self, prompt: Prompt) -> bool:
        """Note a `POST /v1/messages` use of a cached prefix: True if it writes the cache, False on a read."""
        if prompt.cache_key is None:
            return False
        now = self.clock.now()
        ttl = timedelta(hours=1) if prompt.cache_1h else timedelta(minutes=5)
        expiry = self._prompt_cache.get(prompt.cache_key)
        self._prompt_cache[prompt.cache_key] = now + ttl
        return expiry is None or expiry <= now

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        batches = self.store.all()
        statuses: dict[str, int] = {}
        for batch in batches:
            status = batch.status(now)
            statuses[status] = statuses.get(status, 0) + 1
        return {
            "now": rfc3339(now),
            "manual_clock": hasattr(self.clock, "advance"),
            "started_at": self.instance,
            "base_url": self.base_url,
            "batches": len(batches),
            "batches_by_status": statuses,
            "requests_served": self.request_log.served,
            "faults": [fault.to_json() for fault in self.faults.pending()],
            "settings": {
                "seed": self.settings.seed,
                "demo": self.settings.demo,
                "batch_duration": self.settings.batch_duration,
                "error_rate": self.settings.error_rate,
                "refusal_rate": self.settings.refusal_rate,
                "invalid_output_rate": self.settings.invalid_output_rate,
                "ttft": self.settings.ttft,
                "tokens_per_second": self.settings.tokens_per_second,
                "max_body_bytes": self.settings.max_body_bytes,
            },
        }
