"""The seeded demo world: every state a user meets, relative to the clock's time when the emulator starts.

Batches in progress end within minutes (one of them by expiring), one is canceling, and the ended ones cover
success, mixed errors, cancellation, expiry, archive and a 50,000-request batch. Some ended batches also hold
answers that succeeded but are unusable: requests with a JSON schema (a few of whose outputs break it: the
demo turns the invalid-output knob on for them), answers cut at max_tokens, and a few refusals. Two of the
structured batches are `sent_here`: `batchboard --demo` records them as sent from files by batchboard, so
their outputs are checked (the third is left for attaching). Requests are synthesized on demand, so building
the world takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from batchboard.emulator._util import stable_hash
from batchboard.emulator.store import EXPIRY

if TYPE_CHECKING:
    from batchboard.emulator.emulator import Emulator

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class DemoBatch:
    count: int
    model: str
    kind: str
    prefix: str
    age: float  # seconds between creation and the demo's start
    duration: float  # planned seconds from creation to end
    error_rate: float = 0.0
    invalid_rate: float = 0.0
    cache_ttl: str | None = None
    system_tokens: int = 0
    max_tokens: int = 1024
    canceled_after: float | None = None  # seconds after creation that cancel was initiated
    cancel_delay: float | None = None
    schema: dict[str, Any] | None = None  # asked for by a `schema_share` of the requests
    schema_share: float = 0.0
    short_share: float = 0.0  # requests with too small a max_tokens (cut at max_tokens)
    refusal_rate: float = 0.0
    invalid_output_rate: float = 0.0  # of the schema requests
    sent_here: bool = False  # `batchboard --demo` records it as sent from a file by batchboard


#: Output formats of the demo's structured requests, as the SDK's `transform_schema` writes them.
INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Invoice",
    "properties": {
        "vendor": {"type": "string"},
        "invoice_number": {"type": "string"},
        "total": {"type": "number"},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "due_date": {"type": "string", "format": "date"},
    },
    "required": ["vendor", "invoice_number", "total", "currency", "due_date"],
    "additionalProperties": False,
}
TICKET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Triage",
    "properties": {
        "category": {
            "enum": ["billing", "bug report", "feature request", "account access", "shipping", "other"]
        },
        "confidence": {"type": "number"},
        "reason": {"type": "string"},
    },
    "required": ["category", "confidence", "reason"],
    "additionalProperties": False,
}


DEMO_BATCHES: tuple[DemoBatch, ...] = (
    # In progress: expires about three minutes in (planned to run past its 24 h window).
    DemoBatch(2400, "claude-opus-5-5", "summarize", "article", EXPIRY.total_seconds() - 170, 26 * HOUR, 0.01),
    # In progress, ending while you watch.
    DemoBatch(600, "claude-haiku-5-5", "classify", "ticket", 25 * MINUTE, 26 * MINUTE + 10),
    DemoBatch(1200, "claude-sonnet-5-5", "extract", "invoice", HOUR, HOUR + 150, 0.0, 0.0, "5m", 1800, 2048),
    DemoBatch(300, "claude-fable-5-2", "sentiment", "review", 15 * MINUTE, 19 * MINUTE + 30, 0.02),
    DemoBatch(8000, "claude-sonnet-4-6", "summarize", "digest", 40 * MINUTE, 5 * HOUR, 0.005),
    # Canceling: cancel initiated a few seconds ago; it finalises within a minute.
    DemoBatch(
        5000,
        "claude-haiku-4-5",
        "classify",
        "triage",
        2 * HOUR,
        8 * HOUR,
        canceled_after=2 * HOUR - 4,
        cancel_delay=45,
    ),
    # Ended, all succeeded, with a cached 1 h system prompt.
    DemoBatch(1500, "claude-haiku-5-5", "classify", "ticket", 20 * HOUR, 3 * HOUR, 0.0, 0.0, "1h", 2400),
    # Ended with a mix of overloaded, api_error and invalid_request_error results.
    # Half its requests ask for a JSON schema; a few of those outputs break it, a few answers are refused.
    DemoBatch(
        1800,
        "claude-opus-4-8",
        "extract",
        "invoice",
        30 * HOUR,
        5 * HOUR,
        0.05,
        0.03,
        schema=INVOICE_SCHEMA,
        schema_share=0.5,
        refusal_rate=0.005,
        invalid_output_rate=0.02,
        sent_here=True,
    ),
    # Ended canceled, four hours into a twelve-hour run. (Every demo model has a published price, so the
    # demo's cost totals are complete.)
    DemoBatch(
        10000,
        "claude-mythos-5-1",
        "summarize",
        "article",
        3 * DAY,
        12 * HOUR,
        canceled_after=4 * HOUR,
        cancel_delay=90,
    ),
    # Ended by expiry: planned for 30 h, so the last sixth of its requests expired.
    DemoBatch(20000, "claude-sonnet-5-5", "summarize", "digest", 5 * DAY, 30 * HOUR, 0.01),
    # Archived: older than 29 days, results no longer downloadable.
    DemoBatch(3000, "claude-haiku-4-5", "classify", "ticket", 35 * DAY, 2 * HOUR),
    DemoBatch(800, "claude-opus-4-6", "extract", "invoice", 41 * DAY, 3 * HOUR, 0.01),
    # The large one.
    DemoBatch(
        50000, "claude-haiku-5-5", "classify", "ticket", 2 * DAY, 9 * HOUR, 0.004, 0.001, "5m", 1500, 512
    ),
    # Ordinary ended batches over the last days; structured outputs, truncation and refusals among them.
    DemoBatch(
        250,
        "claude-opus-5-5",
        "extract",
        "invoice",
        6 * HOUR,
        40 * MINUTE,
        schema=INVOICE_SCHEMA,
        schema_share=1.0,
        short_share=0.04,
        refusal_rate=0.02,
        invalid_output_rate=0.04,
        sent_here=True,
    ),
    DemoBatch(
        900,
        "claude-fable-5-2",
        "sentiment",
        "review",
        4 * DAY,
        2 * HOUR,
        0.002,
        short_share=0.03,
        refusal_rate=0.01,
    ),
    DemoBatch(
        2000,
        "claude-sonnet-5-5",
        "classify",
        "ticket",
        9 * DAY,
        6 * HOUR,
        0.0,
        0.0,
        "5m",
        1200,
        schema=TICKET_SCHEMA,
        schema_share=0.3,
        short_share=0.02,
        invalid_output_rate=0.02,
    ),
    DemoBatch(120, "claude-fable-5-1", "summarize", "article", 12 * DAY, 25 * MINUTE),
)


def build_demo_world(emulator: Emulator) -> list[str]:
    """Add the demo batches to `emulator`; returns their ids, in the order above."""
    now = emulator.clock.now()
    seed = emulator.settings.seed
    ids = []
    for number, spec in enumerate(DEMO_BATCHES):
        # A little seeded jitter (up to 10 s) so different seeds give different worlds, same shape.
        jitter = stable_hash(seed, "demo", number) % 10_000 / 1000
        created = now - timedelta(seconds=spec.age + jitter)
        ids.append(
            emulator.add_batch(
                spec.count,
                spec.model,
                created_at=created,
                duration=spec.duration,
                error_rate=spec.error_rate,
                custom_id_prefix=spec.prefix,
                kind=spec.kind,
                max_tokens=spec.max_tokens,
                invalid_rate=spec.invalid_rate,
                cache_ttl=spec.cache_ttl,
                system_tokens=spec.system_tokens,
                cancel_initiated_at=created + timedelta(seconds=spec.canceled_after)
                if spec.canceled_after is not None
                else None,
                cancel_delay=spec.cancel_delay,
                schema=spec.schema,
                schema_share=spec.schema_share,
                short_share=spec.short_share,
                refusal_rate=spec.refusal_rate,
                invalid_output_rate=spec.invalid_output_rate,
            )
        )
    return ids
