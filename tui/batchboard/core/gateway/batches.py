"""Batch calls through the official SDK's async client, as the app's own `Batch` values.

`BatchApi` is the dashboard's way to the SDK: it lists, retrieves and cancels batches, counts the calls it
makes (the poller's benchmark shows ended batches cost none), and turns every SDK exception into one
`errors.ApiError` whose message is plain words (untrusted: the UI shows it as text, never as markup).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchboard.core.gateway.errors import ApiError
from batchboard.core.models import Batch

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class BatchPage:
    """One page of the list, newest first."""

    batches: list[Batch]
    has_more: bool
    first_id: str | None
    last_id: str | None


class BatchApi:
    """List, retrieve and cancel batches through an `AsyncAnthropic` client.

    `requests_made` counts the calls this object issued (one HTTP request each; the SDK's own
    retries of a failed attempt are not counted separately).
    """

    def __init__(self, client: AsyncAnthropic) -> None:
        self._client = client
        self.requests_made = 0

    @property
    def client(self) -> AsyncAnthropic:
        return self._client

    def detached_client(self) -> AsyncAnthropic:
        """A copy of the client with its own HTTP connections, for work on another thread's event loop
        (the original's connection pool belongs to the loop that made it). The caller closes it."""
        from anthropic import DefaultAsyncHttpxClient

        return self._client.copy(http_client=DefaultAsyncHttpxClient())

    async def _call(self, coro_factory: Any) -> Any:
        from anthropic import AnthropicError  # already imported by the client's construction

        self.requests_made += 1
        try:
            return await coro_factory()
        except AnthropicError as exc:
            raise ApiError.from_sdk(exc) from exc

    async def list_page(
        self, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> BatchPage:
        """One page of batches, newest first (`after_id` pages towards older ones)."""
        options: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE_SIZE))}
        if after_id is not None:
            options["after_id"] = after_id
        if before_id is not None:
            options["before_id"] = before_id

        async def fetch() -> Any:
            return await self._client.messages.batches.list(**options)

        page = await self._call(fetch)
        return BatchPage(
            batches=[Batch.from_api(item) for item in page.data],
            has_more=bool(page.has_more),
            first_id=page.first_id,
            last_id=page.last_id,
        )

    async def list_all(self, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[BatchPage]:
        """Every batch in the workspace, page by page, newest first."""
        after_id: str | None = None
        while True:
            page = await self.list_page(limit=page_size, after_id=after_id)
            yield page
            if not page.has_more or not page.last_id:
                return
            after_id = page.last_id

    async def retrieve(self, batch_id: str) -> Batch:
        async def fetch() -> Any:
            return await self._client.messages.batches.retrieve(batch_id)

        return Batch.from_api(await self._call(fetch))

    async def cancel(self, batch_id: str) -> Batch:
        async def send() -> Any:
            return await self._client.messages.batches.cancel(batch_id)

        return Batch.from_api(await self._call(send))

    async def close(self) -> None:
        await self._client.close()
