"""The emulator's knobs (the `batchboard emulator` flags map one to one onto these)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_BATCH_REQUESTS = 100_000


@dataclass(frozen=True)
class EmulatorSettings:
    seed: int = 0
    """Seeds ids, outcomes and the demo world: the same seed gives the same ids and results."""
    demo: bool = True
    """Start with the seeded demo world (False: no batches)."""
    batch_duration: float = 120.0
    """Seconds from create to end for batches created over HTTP."""
    error_rate: float = 0.0
    """Fraction of valid batch requests that fail with retryable errors (overloaded_error, api_error)."""
    refusal_rate: float = 0.0
    """Fraction of answers refused (stop_reason "refusal"), in batches and in `POST /v1/messages`."""
    invalid_output_rate: float = 0.0
    """Fraction of answers to a JSON schema or a forced tool whose output breaks it (does not parse, or
    violates the schema). 0: structured outputs always conform, as the API guarantees."""
    ttft: float = 0.4
    """Streaming: seconds before the first text delta."""
    tokens_per_second: float = 60.0
    """Streaming: output rate (0 or less: everything at once)."""
    max_body_bytes: int = MAX_BODY_BYTES
    """Bodies above this are refused with 413 request_too_large (tests lower it)."""
    max_batch_requests: int = MAX_BATCH_REQUESTS

    def __post_init__(self) -> None:
        for name in ("error_rate", "refusal_rate", "invalid_output_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.batch_duration < 0 or self.ttft < 0:
            raise ValueError("batch_duration and ttft must not be negative")
        if self.max_body_bytes < 1 or self.max_batch_requests < 1:
            raise ValueError("max_body_bytes and max_batch_requests must be positive")
