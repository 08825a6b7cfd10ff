"""Results through the SDK's sync client (ingestion runs in a thread): the streamed download and the
batch lookup that precedes it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from batchboard.core.models import Batch
from batchboard.core.results.source import CHUNK_SIZE, ChunkSource, prefetched

if TYPE_CHECKING:
    from anthropic import Anthropic


def sdk_chunks(client: Anthropic, batch_id: str, chunk_size: int = CHUNK_SIZE) -> ChunkSource:
    """A `ChunkSource` reading the results through the SDK's streaming response (its auth and retries)."""

    @contextmanager
    def open_stream() -> Iterator[Iterable[bytes]]:
        with client.messages.batches.with_streaming_response.results(batch_id) as response:
            yield prefetched(response.iter_bytes(chunk_size))

    return open_stream


def retrieve_batch(client: Anthropic, batch_id: str) -> Batch:
    """The batch as the API has it now (raises the SDK's exception; `errors.classify` reads it)."""
    return Batch.from_api(client.messages.batches.retrieve(batch_id))
