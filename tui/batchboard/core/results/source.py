"""Where a pass gets its bytes: a `ChunkSource` opens one attempt and yields byte chunks (the SDK's
streamed download, `gateway.results.sdk_chunks`, or a local file); `prefetched` reads ahead in a thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

CHUNK_SIZE = 256 * 1024
PREFETCH_CHUNKS = 8

ChunkSource = Callable[[], AbstractContextManager[Iterable[bytes]]]
"""Opens one download attempt and yields its byte chunks (the SDK's streamed response by default)."""


@contextmanager
def file_chunks(handle: Any) -> Iterator[Iterable[bytes]]:
    yield iter(lambda: handle.read(CHUNK_SIZE), b"")


_DONE = object()


def prefetched(chunks: Iterable[bytes], depth: int = PREFETCH_CHUNKS) -> Iterator[bytes]:
    """Read `chunks` in a helper thread, at most `depth` ahead: the socket waits (which release the GIL)
    overlap with parsing and indexing instead of adding to them. Errors are re-raised in the consumer."""
    pending: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        pending.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pending.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            pending.put(exc)

    reader = threading.Thread(target=read, name="results-download", daemon=True)
    reader.start()
    try:
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)
