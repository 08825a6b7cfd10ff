"""The submit path's SDK calls: create one batch with the body streamed from the store (the SDK's own
retries off), look at the newest batches just before a create, and page through the batch list when a
create's answer was lost."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING

from batchboard.core.models import Batch

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


async def create_batch(client: AsyncAnthropic, body: AsyncIterable[bytes]) -> Batch:
    """POST one `{"requests": [...]}` body, exactly once: `max_retries=0`, because a create retried after a
    dropped connection is how a batch gets sent twice. Raises the SDK's exception (`errors.classify`).

    It is the same POST that `messages.batches.create` makes, with the body streamed page by page: a
    256 MB chunk is never held as Python objects (nor as one bytes object)."""
    from anthropic.types.messages import MessageBatch

    batch = await client.with_options(max_retries=0).post(
        "/v1/messages/batches",
        cast_to=MessageBatch,
        content=body,
        options={"headers": {"Content-Type": "application/json"}},
    )
    return Batch.from_api(batch)


async def newest_batches(client: AsyncAnthropic, page_size: int = 100) -> AsyncIterator[Batch]:
    """Every batch, newest first, fetched a page at a time as the caller reads on."""
    async for item in client.messages.batches.list(limit=page_size):
        yield Batch.from_api(item)


#: How many of the newest batches are read just before a create: they, and everything older, existed before
#: the send began (a page covers batches created in the same instant as the newest).
BEFORE_SEND_PAGE = 20


async def batches_before_send(client: AsyncAnthropic, limit: int = BEFORE_SEND_PAGE) -> list[Batch]:
    """The newest batches on the account (one page, newest first), read just before a create."""
    page = await client.messages.batches.list(limit=limit)
    return [Batch.from_api(item) for item in page.data]
