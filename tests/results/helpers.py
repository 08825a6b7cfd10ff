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


def answer(
    custom_id: str,
    content: list[dict[str, Any]] | str,
    stop_reason: str = "end_turn",
    *,
    stop_details: dict[str, Any] | None = None,
    model: str = "claude-sonnet-4-6",
    **usage: Any,
) -> dict[str, Any]:
    """A succeeded line with the given content (a string: one text block) and stop reason."""
    line = succeeded(custom_id, model, **usage)
    message = line["result"]["message"]
    message["content"] = [{"type": "text", "text": content}] if isinstance(content, str) else content
    message["stop_reason"] = stop_reason
    if stop_details is not None:
        message["stop_details"] = stop_details
    return line


#: A schema like the ones `client.messages.parse(output_format=...)` sends.
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                "required": ["name", "price"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["customer", "items"],
    "additionalProperties": False,
}
WEATHER_TOOL: dict[str, Any] = {
    "name": "record_weather",
    "description": "Record a forecast",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"],
    },
}


def params(prompt: str = "hello", *, max_tokens: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


def schema_params(schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return params(
        output_config={"format": {"type": "json_schema", "schema": schema or ORDER_SCHEMA}}, **extra
    )


def tool_params(choice: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return params(
        tools=[WEATHER_TOOL], tool_choice=choice or {"type": "tool", "name": "record_weather"}, **extra
    )


def tool_call(name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": arguments}]
