"""Demo mode wiring: the emulator in a thread on a free loopback port, and a BatchApi pointed at it.

Lives outside `ui/` and `core/` because it is the one place that knows both the emulator and the
client. Everything heavy (aiohttp, the SDK) is imported inside `connect`, which the app calls in a
thread worker, so the first frame never waits for it.

Two of the demo world's structured pipelines (batches whose requests ask for a JSON schema, `sent_here` in
`emulator.demo`) are recorded in the demo's store as if batchboard had sent them from a file: their requests
are known, so their answers are checked against the schema when their results are indexed (the `{} invalid
output` group), and `R` can resend their failures. The third is left for `a` (attach) to link.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from batchboard.core.config import Settings

if TYPE_CHECKING:
    from batchboard.core.clock import Clock
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import Connection
    from batchboard.core.store import Store
    from batchboard.emulator import Emulator

#: The emulator accepts any key; this one only says where it came from.
DEMO_API_KEY = "sk-ant-demo-not-a-real-key"
#: The fraction of a new demo batch's requests that fail with retryable errors (overloaded, api_error).
DEMO_ERROR_RATE = 0.1


class DemoBackend:
    """Starts the seeded demo emulator on first `connect()` and stops it on `close()`."""

    def __init__(
        self, clock: Clock | None = None, seed: int = 0, poll_interval: float = Settings.poll_interval
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.poll_interval = poll_interval
        """The dashboard's poll interval: the client keeps idle connections well beyond it."""
        self.sent_from: tuple[Store, Path] | None = None
        """A throwaway store and directory: the structured demo batches are recorded there as sent from
        files in it, when the emulator starts (never set for the user's own store)."""
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
                if self.sent_from is not None:
                    record_structured_batches(self.emulator, *self.sent_from)
            return self.base_url

    def connection(self) -> Connection:
        from batchboard.core.gateway.client import Connection

        return Connection(
            base_url=self.start(), api_key=DEMO_API_KEY, demo=True, poll_interval=self.poll_interval
        )

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


def record_structured_batches(emulator: Emulator, store: Store, directory: Path) -> list[str]:
    """Record the demo batches marked `sent_here` as batchboard submissions: each one's
    requests written to a JSONL file in `directory`, checked and stored as `batchboard submit` would, and
    the batch recorded as that file's, in its state now (so its end is not announced as news). Returns
    their ids."""
    from batchboard.core.config import Settings
    from batchboard.core.models import Batch, RequestCounts
    from batchboard.core.submit.intents import prepare_file, record_created
    from batchboard.core.submit.rules import accepted_models
    from batchboard.core.submit.validate import validate_file
    from batchboard.emulator.demo import DEMO_BATCHES

    now = emulator.clock.now()
    models = accepted_models(Settings())
    directory.mkdir(parents=True, exist_ok=True)
    recorded = []
    for spec, batch_id in zip(DEMO_BATCHES, emulator.demo_batch_ids, strict=True):
        if not spec.sent_here:
            continue
        path = directory / f"{spec.prefix}s-{batch_id[-6:]}.jsonl"
        with open(path, "wb") as handle:
            handle.writelines(emulator.request_lines(batch_id))
        submission = prepare_file(store, validate_file(path, known_models=models))
        sent = emulator.store.get(batch_id)
        state = sent.to_json(now, emulator.base_url or "")
        batch = Batch(
            id=batch_id,
            processing_status=state["processing_status"],
            counts=RequestCounts(**state["request_counts"]),
            created_at=sent.created_at,
            expires_at=sent.expires_at,
            ended_at=sent.end()[0] if sent.is_ended(now) else None,
            archived_at=sent.archived_at(now),
            results_url=state["results_url"],
        )
        # One chunk: the demo's files are far below a batch's limits.
        record_created(store, submission.id, submission.chunks[0].chunk, batch, "response", None, now)
        recorded.append(batch_id)
    return recorded
