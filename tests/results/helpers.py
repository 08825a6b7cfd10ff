"""Builders for results lines in the API's exact shapes, and a Batch for ingestion without a network."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from batchboard.core.models import Batch, RequestCounts

CREATED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def succeeded(
    custom_id: str, model: str = "claude-sonnet-4-6", text: str = "ok", **usage: Any
) -> dict[str, Any]:
    base = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "service_tier": "batch",
    }
    base.update(usage)
    return {
        "custom_id": custom_id,
        "result": {
            "type": "succeeded",
            "message": {
                "id": f"msg_{custom_id}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": base,
            },
        },
    }


def errored(
    custom_id: str, error_type: str = "overloaded_error", message: str = "Overloaded"
) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "result": {
            "type": "errored",
            "error": {"type": "error", "error": {"type": error_type, "message": message}, "request_id": None},
        },
    }


def other(custom_id: str, result_type: str) -> dict[str, Any]:
    return {"custom_id": custom_id, "result": {"type": result_type}}


def jsonl(objects: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objects)


def ended_batch(batch_id: str, lines: list[dict[str, Any]], *, archived: bool = False) -> Batch:
    counts: dict[str, int] = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for line in lines:
        counts[line["result"]["type"]] += 1
    return Batch(
        id=batch_id,
        processing_status="ended",
        counts=RequestCounts(**counts),
        created_at=CREATED,
        expires_at=CREATED + timedelta(hours=24),
        ended_at=CREATED + timedelta(hours=1),
        archived_at=CREATED + timedelta(days=29) if archived else None,
        results_url=None if archived else f"/v1/messages/batches/{batch_id}/results",
    )


def chunked(data: bytes, size: int) -> Any:
    """A ChunkSource serving `data` in `size`-byte chunks (lines split across chunks on purpose)."""

    @contextmanager
    def source() -> Iterator[Iterable[bytes]]:
        yield (data[i : i + size] for i in range(0, len(data), size))

    return source
