"""The emulator's HTTP surface: aiohttp routes and middleware that speak the Anthropic API's wire format."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import ijson
import orjson
from aiohttp import StreamReader, web

from batchboard.emulator._util import plural, rfc3339, stable_hash, unit_hash
from batchboard.emulator.catalog import MODELS, lookup_model
from batchboard.emulator.faults import Fault
from batchboard.emulator.reply import Reply, compose
from batchboard.emulator.settings import EmulatorSettings
from batchboard.emulator.store import (
    INVALID,
    INVALID_OUTPUT,
    REFUSED,
    ApiError,
    RecordedRequests,
    Request,
    error_envelope,
    fate_for,
    message_for,
    twist_for,
)
from batchboard.emulator.text import pieces
from batchboard.emulator.validation import ParamError, Prompt, UnknownModel, validate_params
from batchboard.emulator.versions import VersionError, check_header

if TYPE_CHECKING:
    from batchboard.emulator.emulator import Emulator

log = logging.getLogger("batchboard.emulator")

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
RESULTS_CHUNK = 256 * 1024
#: Small bodies are kept so an empty result can say whether `requests` was missing, empty or not a list.
SNIFF_BYTES = 1 << 20
EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
#: Set by a drop_after fault on a streamed answer (results, SSE): the handler cuts the connection half way.
DROP_MIDWAY: web.RequestKey[bool] = web.RequestKey("drop_midway")
#: Loop time at which the request reached the middleware: time to first token counts from here.
ARRIVED: web.RequestKey[float] = web.RequestKey("arrived")
#: The request's `anthropic-version` (checked in the middleware).
VERSION: web.RequestKey[str] = web.RequestKey("version")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR_KEY]


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(request: web.Request, status: int, kind: str, message: str) -> web.Response:
    return _json(error_envelope(kind, message, request.get(REQUEST_ID)), status=status)


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


class BodyTooLarge(Exception):
    pass


class CountingReader:
    """Reads a request body for ijson, counting bytes so an oversized body is refused while it streams in."""

    def __init__(self, stream: StreamReader, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.size = 0
        self.head = bytearray()

    async def read(self, n: int = -1) -> bytes:
        if n == 0:
            return b""  # ijson probes with read(0) to tell bytes from str
        chunk = await self._stream.read(n if n > 0 else 65536)
        self.size += len(chunk)
        if self.size > self._limit:
            raise BodyTooLarge
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        return chunk

    async def drain(self) -> None:
        while await self.read(65536):
            pass


def _too_large(request: web.Request, limit: int) -> web.Response:
    return error_response(
        request, 413, "request_too_large", f"Request exceeds the maximum allowed number of bytes ({limit:,})."
    )


# --- middleware ---


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    emulator = _emulator(request)
    request[REQUEST_ID] = emulator.next_request_id()
    request[ARRIVED] = emulator.pacer.time()
    control = request.path.startswith("/_emulator/")
    try:
        if control:
            return await handler(request)
        emulator.request_log.append((request.method, request.path))
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        if peer is not None:
            emulator.request_log.peers.add((str(peer[0]), int(peer[1])))
        if not (request.headers.get("x-api-key", "").strip() or _bearer_token(request)):
            raise ApiError(
                401,
                "authentication_error",
                "x-api-key header is required (or an Authorization: Bearer header)",
            )
        try:
            request[VERSION] = check_header(request.headers.get("anthropic-version"))
        except VersionError as exc:
            raise ApiError(400, "invalid_request_error", str(exc)) from None
        fault = emulator.faults.take(request.method, request.path)
        if fault is not None:
            return await _apply_fault(fault, request, handler)
        return await handler(request)
    except ApiError as exc:
        return error_response(request, exc.status, exc.kind, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return _too_large(request, emulator.settings.max_body_bytes)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(request, 404, "not_found_error", "Not Found")
        if exc.status == 405:
            return error_response(
                request, 405, "invalid_request_error", f"Method {request.method} not allowed"
            )
        return error_response(request, exc.status, "invalid_request_error", exc.reason)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("emulator: unhandled error for %s %s", request.method, request.path)
        return error_response(request, 500, "api_error", "Internal server error")


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    if REQUEST_ID in request:
        response.headers.setdefault("request-id", request[REQUEST_ID])


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _apply_fault(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    if fault.kind == "rate_limit":
        limited = error_response(
            request, 429, "rate_limit_error", "Number of requests has exceeded your rate limit"
        )
        limited.headers["retry-after-ms"] = str(fault.retry_after_ms)
        limited.headers["retry-after"] = str(max(1, math.ceil(fault.retry_after_ms / 1000)))
        return limited
    if fault.kind == "overloaded":
        return error_response(request, 529, "overloaded_error", "Overloaded")
    if fault.kind == "api_error":
        return error_response(request, 500, "api_error", "Internal server error")
    # Drops: abort the connection, then hand aiohttp a response it can no longer send (it shrugs that off
    # quietly, where raising would log an error for what is a deliberate fault).
    if fault.kind == "drop_before":
        _drop(request)
        return web.Response(status=500)
    # drop_after: do the work, then cut the response off halfway through its body.
    response: web.StreamResponse
    request[DROP_MIDWAY] = True
    try:
        response = await handler(request)
    except ApiError as exc:
        response = error_response(request, exc.status, exc.kind, exc.message)
    if isinstance(response, web.Response) and not response.prepared and response.body is not None:
        body = bytes(response.body)  # type: ignore[arg-type]
        partial = web.StreamResponse(status=response.status, headers=response.headers)
        partial.content_length = len(body)
        await partial.prepare(request)
        await partial.write(body[: len(body) // 2])
        _drop(request)
        return partial
    _drop(request)
    return response


# --- batches ---


def _envelope_error(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def _describe_empty(head: bytes) -> str:
    try:
        body = orjson.loads(head)
    except orjson.JSONDecodeError:
        return "requests: Field required"
    if not isinstance(body, dict) or "requests" not in body:
        return "requests: Field required"
    if not isinstance(body["requests"], list):
        return "requests: Input should be a valid list"
    return "requests: List should have at least 1 item after validation, not 0"


async def create_batch(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    settings = emulator.settings
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(request, limit)
    reader = CountingReader(request.content, limit)
    version = request[VERSION]  # each request's params are checked against the create call's version
    records: list[Request] = []
    seen: set[str] = set()
    attempts = emulator.store.attempts
    problem: str | None = None
    try:
        async for index, item in _enumerate(ijson.items_async(reader, "requests.item", use_float=True)):
            if index >= settings.max_batch_requests:
                problem = (
                    f"requests: too many requests ({index + 1:,} or more); a batch may contain at most "
                    f"{plural(settings.max_batch_requests, 'request')}"
                )
                break
            if not isinstance(item, dict):
                problem = (
                    f"requests.{index}: Input should be a valid dictionary or object to extract fields from"
                )
                break
            extra = sorted(set(item) - {"custom_id", "params"})
            if extra:
                problem = f"requests.{index}.{extra[0]}: Extra inputs are not permitted"
                break
            custom_id = item.get("custom_id")
            if custom_id is None:
                problem = f"requests.{index}.custom_id: Field required"
                break
            if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
                problem = (
                    f"requests.{index}.custom_id: custom_id {custom_id!r} is invalid: it must be 1 to 64 "
                    "characters, letters, digits, '_' or '-' (^[a-zA-Z0-9_-]{1,64}$)"
                )
                break
            if custom_id in seen:
                problem = (
                    f"requests.{index}.custom_id: duplicate custom_id '{custom_id}'; "
                    "custom_id values must be unique within a batch"
                )
                break
            seen.add(custom_id)
            if "params" not in item:
                problem = f"requests.{index}.params: Field required"
                break
            params = item["params"]
            if not isinstance(params, dict):
                problem = f"requests.{index}.params: Input should be a valid dictionary or object"
                break
            records.append(_record(settings, version, custom_id, params, attempts.get(custom_id, 0)))
        if problem is not None:
            await reader.drain()
    except BodyTooLarge:
        return _too_large(request, limit)
    except ijson.JSONError as exc:
        raise _envelope_error(f"Request body is not valid JSON: {exc}") from None
    if problem is not None:
        raise _envelope_error(problem)
    if not records:
        raise _envelope_error(_describe_empty(bytes(reader.head)))
    now = emulator.clock.now()
    batch = emulator.store.add(now, settings.batch_duration, RecordedRequests(records))
    for custom_id in seen:  # only once the batch is accepted: a rejected create is no attempt
        attempts[custom_id] = attempts.get(custom_id, 0) + 1
    return _json(batch.to_json(now, _origin(request)))


async def _enumerate(items: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    index = 0
    async for item in items:
        yield index, item
        index += 1


def _record(
    settings: EmulatorSettings, version: str, custom_id: str, params: dict[str, Any], attempt: int
) -> Request:
    seed = settings.seed
    point = 1.0 - stable_hash(seed, custom_id, "order") / float(1 << 64)  # in (0, 1]
    try:
        prompt = validate_params(params, in_batch=True, version=version)
    except ParamError as exc:
        # Invalid requests are rejected by validation, early in the batch's processing; an unknown model
        # is an invalid_request_error here too (a direct call answers 404).
        return Request(custom_id, INVALID, point * 0.05, None, str(exc))
    fate = fate_for(seed, custom_id, settings.error_rate, attempt)
    twist = twist_for(seed, custom_id, attempt, settings.refusal_rate, settings.invalid_output_rate)
    return Request(custom_id, fate, point, prompt, twist=twist)


async def retrieve_batch(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    batch = emulator.store.get(request.match_info["batch_id"])
    return _json(batch.to_json(emulator.clock.now(), _origin(request)))


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "20")
    try:
        limit = int(raw)
    except ValueError:
        raise _envelope_error(
            f"limit: Input should be a valid integer, unable to parse string {raw!r}"
        ) from None
    if limit < 1:
        raise _envelope_error("limit: Input should be greater than or equal to 1")
    if limit > 1000:
        raise _envelope_error("limit: Input should be less than or equal to 1000")
    return limit


def _cursors(request: web.Request) -> tuple[str | None, str | None]:
    after_id = request.query.get("after_id") or None
    before_id = request.query.get("before_id") or None
    if after_id and before_id:
        raise _envelope_error("after_id and before_id cannot both be set")
    return after_id, before_id


async def list_batches(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    limit = _limit(request)
    after_id, before_id = _cursors(request)
    batches, has_more = emulator.store.page(limit, after_id, before_id)
    now = emulator.clock.now()
    origin = _origin(request)
    data = [batch.to_json(now, origin) for batch in batches]
    return _json(
        {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )


async def cancel_batch(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    now = emulator.clock.now()
    batch = emulator.store.cancel(request.match_info["batch_id"], now)
    return _json(batch.to_json(now, _origin(request)))


async def delete_batch(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    batch_id = request.match_info["batch_id"]
    emulator.store.delete(batch_id, emulator.clock.now())
    return _json({"id": batch_id, "type": "message_batch_deleted"})


async def batch_results(request: web.Request) -> web.StreamResponse:
    emulator = _emulator(request)
    now = emulator.clock.now()
    batch = emulator.store.get(request.match_info["batch_id"])
    if not batch.is_ended(now):
        raise ApiError(
            400,
            "invalid_request_error",
            f"Batch {batch.id} has not finished processing (status '{batch.status(now)}'); "
            "results are available once it has ended.",
        )
    archived = batch.archived_at(now)
    if archived is not None:
        raise ApiError(
            404,
            "not_found_error",
            f"Results for batch {batch.id} are no longer available: the batch was archived at "
            f"{rfc3339(archived)}, 29 days after it was created.",
        )
    drop_after = len(batch.source) // 2 if request.get(DROP_MIDWAY) else -1
    lines = batch.result_lines(emulator.settings.seed)
    return await _send_lines(request, "application/binary", lines, drop_after)


async def _send_lines(
    request: web.Request, content_type: str, lines: Iterable[bytes], drop_after: int = -1
) -> web.StreamResponse:
    """Stream JSONL generated line by line, in chunks, never held whole; cut after line `drop_after`."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    buffer = bytearray()
    for number, line in enumerate(lines):
        buffer += line
        if number == drop_after:
            await response.write(bytes(buffer))
            _drop(request)
            return response
        if len(buffer) >= RESULTS_CHUNK:
            await response.write(bytes(buffer))
            buffer.clear()
    if buffer:
        await response.write(bytes(buffer))
    await response.write_eof()
    return response


# --- messages ---


async def _read_json(request: web.Request) -> Any:
    emulator = _emulator(request)
    limit = emulator.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(
            413, "request_too_large", f"Request exceeds the maximum allowed number of bytes ({limit:,})."
        )
    body = await request.read()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _envelope_error(f"Request body is not valid JSON: {exc}") from None


def _validate(request: web.Request, body: object) -> Prompt:
    try:
        return validate_params(body, in_batch=False, version=request[VERSION])
    except UnknownModel as exc:
        raise ApiError(404, "not_found_error", str(exc)) from None
    except ParamError as exc:
        raise _envelope_error(str(exc)) from None


async def create_message(request: web.Request) -> web.StreamResponse:
    emulator = _emulator(request)
    body = await _read_json(request)
    prompt = _validate(request, body)
    settings = emulator.settings
    message_id = emulator.next_message_id()
    # The same prompt gets the same answer (refusals and broken outputs included), which keeps client
    # tests deterministic.
    salt = stable_hash(settings.seed, prompt.model, prompt.kind, prompt.snippet, prompt.input_tokens)
    twist = (REFUSED if unit_hash(salt, "refuse") < settings.refusal_rate else 0) | (
        INVALID_OUTPUT if unit_hash(salt, "invalid") < settings.invalid_output_rate else 0
    )
    cache_write = emulator.touch_prompt_cache(prompt)
    reply = compose(prompt, salt, refuse=bool(twist & REFUSED), invalid=bool(twist & INVALID_OUTPUT))
    message = message_for(
        prompt, message_id, salt, cache_write=cache_write, service_tier="standard", reply=reply
    )
    if isinstance(body, dict) and body.get("stream"):
        return await _stream_message(request, message, reply)
    return _json(message)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _block_start(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] == "tool_use":
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
    return {"type": "text", "text": ""}


def _delta(block: dict[str, Any], chunk: str) -> dict[str, Any]:
    if block["type"] == "tool_use":
        return {"type": "input_json_delta", "partial_json": chunk}
    return {"type": "text_delta", "text": chunk}


async def _stream_message(request: web.Request, message: dict[str, Any], reply: Reply) -> web.StreamResponse:
    emulator = _emulator(request)
    settings = emulator.settings
    plan = [(block, pieces(source)) for block, source in zip(reply.blocks, reply.sources, strict=True)]
    total = sum(len(tokens) for _block, tokens in plan)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    start = dict(message, content=[], stop_reason=None, stop_sequence=None, stop_details=None)
    start["usage"] = dict(message["usage"], output_tokens=min(1, reply.output_tokens))
    fault = emulator.faults.take(request.method, request.path, mid_stream=True)
    pacer = emulator.pacer
    first = request.get(ARRIVED, pacer.time()) + settings.ttft
    rate = settings.tokens_per_second
    drop_at = total // 2 if request.get(DROP_MIDWAY) else -1
    sent = deltas = 0  # tokens and deltas so far, over all blocks: the pace is the whole reply's
    head = _event("message_start", {"type": "message_start", "message": start})
    try:
        if not plan:
            await response.write(head + _event("ping", {"type": "ping"}))
        for index, (block, tokens) in enumerate(plan):
            opening = _event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": _block_start(block)},
            )
            await response.write(head + opening + _event("ping", {"type": "ping"}) if index == 0 else opening)
            offset = sent
            while sent - offset < len(tokens):
                if fault is not None and deltas >= fault.after_events:
                    break
                if drop_at >= 0 and sent >= drop_at:
                    _drop(request)
                    return response
                # Token i is due at first + i / rate: absolute deadlines, so sleeping late never drifts the
                # rate, and tokens already overdue go out together in one delta. With no rate set, tokens
                # go out one per delta without pacing.
                due = first + (sent / rate if rate > 0 else 0.0)
                now = pacer.time()
                if now < due:
                    await pacer.sleep_until(due)
                    now = pacer.time()
                ready = math.floor((now - first) * rate + 1e-9) + 1 if rate > 0 else sent + 1
                ready = min(offset + len(tokens), max(ready, sent + 1))
                chunk = "".join(tokens[sent - offset : ready - offset])
                sent = ready
                deltas += 1
                await response.write(
                    _event(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": _delta(block, chunk)},
                    )
                )
            if fault is not None and deltas >= fault.after_events:
                break
            await response.write(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        if fault is not None:
            await response.write(
                _event(
                    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                )
            )
            await response.write_eof()
            return response
        await response.write(
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": reply.stop_reason,
                        "stop_sequence": reply.stop_sequence,
                        "stop_details": reply.stop_details,
                    },
                    "usage": {"output_tokens": reply.output_tokens},
                },
            )
            + _event("message_stop", {"type": "message_stop"})
        )
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away mid-stream
    return response


async def count_tokens(request: web.Request) -> web.Response:
    body = await _read_json(request)
    if isinstance(body, dict) and "max_tokens" not in body:
        body = dict(body, max_tokens=1)
    prompt = _validate(request, body)
    return _json({"input_tokens": prompt.input_tokens})


# --- models ---


async def list_models(request: web.Request) -> web.Response:
    limit = _limit(request)
    after_id, before_id = _cursors(request)
    wanted: set[str] = set()
    for key in ("lifecycle", "lifecycle[]"):
        for value in request.query.getall(key, []):
            wanted.update(part for part in value.split(",") if part)
    wanted = wanted or {"active", "deprecated"}
    models = [model for model in MODELS if model.lifecycle in wanted]
    ids = [model.id for model in models]
    if before_id is not None:
        if before_id not in ids:
            raise _envelope_error(f"before_id: unknown model '{before_id}'")
        end = ids.index(before_id)
        page = models[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        if after_id is not None and after_id not in ids:
            raise _envelope_error(f"after_id: unknown model '{after_id}'")
        start = ids.index(after_id) + 1 if after_id is not None else 0
        page = models[start : start + limit]
        has_more = start + limit < len(models)
    return _json(
        {
            "data": [model.to_json() for model in page],
            "has_more": has_more,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        }
    )


async def get_model(request: web.Request) -> web.Response:
    model_id = request.match_info["model_id"]
    spec = lookup_model(model_id)
    if spec is None:
        raise ApiError(404, "not_found_error", f"model: {model_id}")
    return _json(spec.to_json())


# --- control plane ---


async def add_faults(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    try:
        body = orjson.loads(await request.read())
        items = body if isinstance(body, list) else [body]
        faults = [Fault.from_json(item) for item in items]
    except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
        return error_response(request, 400, "invalid_request_error", f"invalid fault: {exc}")
    for fault in faults:
        emulator.faults.add(fault)
    return _json({"faults": [fault.to_json() for fault in emulator.faults.pending()]})


async def clear_faults(request: web.Request) -> web.Response:
    _emulator(request).faults.clear()
    return _json({"faults": []})


async def batch_requests(request: web.Request) -> web.StreamResponse:
    """A synthesized batch's requests as JSONL (`/_emulator/batches/{id}/requests`), to attach them."""
    emulator = _emulator(request)
    try:
        lines = emulator.request_lines(request.match_info["batch_id"])
        first = next(lines, b"")
    except ApiError as exc:
        return error_response(request, exc.status, exc.kind, exc.message)
    return await _send_lines(request, "application/x-ndjson", itertools.chain((first,), lines))


async def state(request: web.Request) -> web.Response:
    return _json(_emulator(request).state())


async def advance_clock(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    advance = getattr(emulator.clock, "advance", None)
    if advance is None:
        return error_response(
            request,
            400,
            "invalid_request_error",
            "the emulator runs on the system clock; it cannot be advanced",
        )
    try:
        body = orjson.loads(await request.read())
        seconds = float(body["seconds"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return error_response(request, 400, "invalid_request_error", 'expected a body like {"seconds": 60}')
    advance(timedelta(seconds=seconds).total_seconds())
    return _json({"now": rfc3339(emulator.clock.now())})


def build_app(emulator: Emulator) -> web.Application:
    app = web.Application(
        middlewares=[api_middleware],
        client_max_size=emulator.settings.max_body_bytes,
        handler_args={"max_field_size": 65536},
    )
    app[EMULATOR_KEY] = emulator
    app.on_response_prepare.append(_add_request_id)
    app.router.add_post("/v1/messages/batches", create_batch)
    app.router.add_get("/v1/messages/batches", list_batches)
    app.router.add_get("/v1/messages/batches/{batch_id}", retrieve_batch)
    app.router.add_delete("/v1/messages/batches/{batch_id}", delete_batch)
    app.router.add_post("/v1/messages/batches/{batch_id}/cancel", cancel_batch)
    app.router.add_get("/v1/messages/batches/{batch_id}/results", batch_results)
    app.router.add_post("/v1/messages", create_message)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model_id}", get_model)
    app.router.add_post("/_emulator/faults", add_faults)
    app.router.add_delete("/_emulator/faults", clear_faults)
    app.router.add_get("/_emulator/state", state)
    app.router.add_get("/_emulator/batches/{batch_id}/requests", batch_requests)
    app.router.add_post("/_emulator/clock/advance", advance_clock)
    return app


def _bearer_token(request: web.Request) -> str:
    """The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive, as the real API);
    "" for any other scheme or none."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
