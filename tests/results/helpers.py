"""Builders for results lines in the API's exact shapes, a Batch for ingestion without a network, indexing
them (with the requests they answer), databases as older batchboards left them, and an app that opens one
screen."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from textual.app import App
from textual.screen import Screen

from batchboard.core.models import Batch, RequestCounts
from batchboard.core.results import schema
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.results.schema import LEGACY_ITEMS_TABLE, RESULTS_VERSION_KEY
from batchboard.core.store import Store
from batchboard.core.submit.intents import attach_file

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


def link_requests(
    store: Store, batch_id: str, requests: Mapping[str, Mapping[str, Any]], source_path: str = "sent.jsonl"
) -> None:
    """Store each custom_id's params as the batch's requests, as `batchboard attach` does."""
    rows = [(cid, n + 1, orjson.dumps(p)) for n, (cid, p) in enumerate(requests.items())]
    attach_file(store, batch_id, rows, source_path=source_path)


def index_lines(
    index: ResultsIndex,
    batch_id: str,
    lines: list[dict[str, Any]],
    *,
    requests: Mapping[str, Mapping[str, Any]] | None = None,
    chunk: int = 1 << 12,
) -> Batch:
    """Index `lines` as the results of the ended batch `batch_id`, served in `chunk`-byte pieces; with
    `requests`, those are stored first (so each answer is checked against the schema it asked for)."""
    if requests is not None:
        link_requests(index.store, batch_id, requests)
    batch = ended_batch(batch_id, lines)
    ingest(batch_id, index, batch=batch, source=chunked(jsonl(lines), chunk))
    return batch


# ------------------------------------------------------------- databases older batchboards left

# The shared items table as batchboard created it before items files (schema version 1).
LEGACY_DDL = """
CREATE TABLE IF NOT EXISTS result_items (
    batch_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    result_type TEXT NOT NULL,
    error_type TEXT NOT NULL,
    error_message TEXT,
    model TEXT,
    stop_reason TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read INTEGER NOT NULL,
    long_prompt INTEGER NOT NULL,
    cost_batch REAL,
    cost_standard REAL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (batch_id, result_type, error_type, custom_id, line)
) WITHOUT ROWID;
"""


def lines_of_batch(n_ok: int = 20) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [succeeded(f"ok-{i:05d}") for i in range(n_ok)]
    lines += [errored(f"over-{i}") for i in range(3)]
    lines += [errored("bad-1", "invalid_request_error", "max_tokens: too large")]
    lines += [other("stop-1", "canceled")]
    return lines


def legacy_database(tmp_path: Path, batches: dict[str, list[dict[str, Any]]]) -> Path:
    """A database as an older batchboard left it: records, groups and usage sums in the shared tables,
    every item in `result_items`, no items files, no results version."""
    db_path = tmp_path / "db.sqlite3"
    directory = tmp_path / "results"
    with Store.open(db_path) as store, ResultsIndex(store, directory) as index:
        for batch_id, lines in batches.items():
            index_lines(index, batch_id, lines, chunk=700)
    legacy = sqlite3.connect(db_path)
    legacy.executescript(LEGACY_DDL)
    for batch_id in batches:
        items = directory / f"{batch_id}.items.sqlite3"
        legacy.execute("ATTACH DATABASE ? AS items_file", (str(items),))
        legacy.execute(
            f"INSERT INTO result_items SELECT ?, {schema.LEGACY_COLUMNS} FROM items_file.items", (batch_id,)
        )
        legacy.commit()
        legacy.execute("DETACH DATABASE items_file")
        items.unlink()
    legacy.execute("DELETE FROM meta WHERE key = ?", (RESULTS_VERSION_KEY,))
    legacy.execute("DELETE FROM result_unusable")  # counted since: version 1 had no unusable classes
    legacy.commit()
    legacy.close()
    return db_path


def has_legacy_table(store: Store) -> bool:
    return bool(store.query("SELECT 1 FROM sqlite_master WHERE name = ?", (LEGACY_ITEMS_TABLE,)))


class ScreenHost(App[None]):
    """An app that opens the screen `make_screen` makes."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())
