"""Demo mode wiring: the emulator in a thread on a free loopback port, and a BatchApi pointed at it.

Lives outside `ui/` and `core/` because it is the one place that knows both the emulator and the
client. Everything heavy (aiohttp, the SDK) is imported inside `connect`, which the app calls in a
thread worker, so the first frame never waits for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchboard.core.clock import Clock
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import Connection
    from batchboard.emulator import Emulator

#: The emulator accepts any key; this one only says where it came from.
DEMO_API_KEY = "sk-ant-demo-not-a-real-key"
#: The fraction of a new demo batch's requests that fail with retryable errors (overloaded, api_error).
DEMO_ERROR_RATE = 0.1


class DemoBackend:
    """Starts the seeded demo emulator on first `connect()` and stops it on `close()`."""

    def __init__(self, clock: Clock | None = None, seed: int = 0) -> None:
        self.clock = clock
        self.seed = seed
        self.emulator: Emulator | None = None
        self.base_url: str | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        with self._lock:
            if self.base_url is None:
                from batchboard.emulator import Emulator, EmulatorSettings

                # New batches (a file sent with `n`, a chat comparison) fail now and then like real ones,
                # so the demo can show triage and `R`; a retried failure gets a fresh draw.
                settings = EmulatorSettings(seed=self.seed, demo=True, error_rate=DEMO_ERROR_RATE)
                self.emulator = Emulator(settings, clock=self.clock)
                self.base_url = self.emulator.start_in_thread(host="127.0.0.1", port=0)
            return self.base_url

    def connection(self) -> Connection:
        from batchboard.core.gateway.client import Connection

        return Connection(base_url=self.start(), api_key=DEMO_API_KEY, demo=True)

    def connect(self) -> BatchApi:
        from batchboard.core.gateway.batches import BatchApi
        from batchboard.core.gateway.client import make_client

        return BatchApi(make_client(self.connection()))

    def close(self) -> None:
        with self._lock:
            if self.emulator is not None:
                self.emulator.stop_in_thread()
            self.emulator = None
            self.base_url = None
