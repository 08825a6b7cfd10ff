"""Fault injection for client tests: the next matching requests fail the way production sometimes does."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from batchboard.emulator._util import plural

FaultKind = Literal["rate_limit", "overloaded", "api_error", "drop_before", "drop_after", "stream_error"]
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "overloaded",
    "api_error",
    "drop_before",
    "drop_after",
    "stream_error",
)


@dataclass
class Fault:
    """Fail the next `times` requests matching `method` (None: any) and `path` (a prefix; None: any).

    - `rate_limit`: 429 rate_limit_error with `retry-after-ms: retry_after_ms` (and `retry-after`).
    - `overloaded`: 529 overloaded_error. `api_error`: 500 api_error.
    - `drop_before`: the connection is closed before the request is processed.
    - `drop_after`: the request is processed (a batch IS created), then the connection drops mid-response.
    - `stream_error`: a streamed message sends `event: error` (overloaded_error) after `after_events` deltas.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int = 1
    retry_after_ms: int = 10
    after_events: int = 3

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str, *, mid_stream: bool) -> bool:
        # Ordinary faults fire before a request is handled; stream_error only once a stream has started.
        if (self.kind == "stream_error") != mid_stream:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or path.startswith(self.path)

    @classmethod
    def from_json(cls, data: object) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault {plural(len(unknown), 'field', number=False)}: {', '.join(unknown)}"
            )
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultSet:
    """The pending faults; thread-safe because tests add faults while the server runs in another thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str, *, mid_stream: bool = False) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, mid_stream=mid_stream):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return None
