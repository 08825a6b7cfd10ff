"""The clock that paces streamed replies (time to first token, tokens per second): monotonic seconds and a
sleep until a deadline. By default the event loop's; a test passes its own to share it with the client's
timer and step a stream token by token, so measured timings do not depend on the machine's load."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Pacer(Protocol):
    def time(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once `time()` has reached `deadline` (at once if it has)."""
        ...


class LoopPacer:
    """Real time: the running event loop's clock and `asyncio.sleep`."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.time()
        if delay > 0:
            await asyncio.sleep(delay)
