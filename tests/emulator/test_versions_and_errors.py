"""The `anthropic-version` rules (header required, known versions, what 2026-10-21 refuses, per batch) and
the errors the service gives for models, max_tokens and the context window, with strict SDK error types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types.shared import ErrorResponse
from tests.emulator.conftest import API_KEY, request, sync_client, validated_results

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator

OLD = "2023-06-01"
HI = [{"role": "user", "content": "Summarise the harbour report."}]


@pytest.fixture
def old_client(emulator: Emulator) -> Iterator[anthropic.Anthropic]:
    assert emulator.base_url is not None
    with sync_client(emulator.base_url, default_headers={"anthropic-version": OLD}) as sdk:
        yield sdk


def post(emulator: Emulator, path: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    """A hand-made call (the SDK always sends a version): only for what the SDK cannot send."""
    return httpx2.post(
        f"{emulator.base_url}{path}", json=body, headers={"x-api-key": API_KEY, **headers}, timeout=10
    )


def test_the_sdk_sends_the_latest_version() -> None:
    assert anthropic.Anthropic(api_key="x").default_headers["anthropic-version"] == "2026-10-21"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "anthropic-version: header is required"),
        ({"anthropic-version": "2024-10-22"}, 'anthropic-version: "2024-10-22" is not a valid version'),
        (
            {"anthropic-version": "2023-06-01, 2023-06-01"},
            'anthropic-version: "2023-06-01, 2023-06-01" is not a valid version',
        ),
    ],
)
def test_a_missing_or_unknown_version_is_a_bad_request(
    emulator: Emulator, headers: dict[str, str], message: str
) -> None:
    body = {"model": "claude-haiku-5-5", "max_tokens": 10, "messages": HI}
    for path in ("/v1/messages", "/v1/messages/count_tokens", "/v1/messages/batches"):
        response = post(
            emulator, path, {"requests": [request("a")]} if path.endswith("batches") else body, **headers
        )
        assert response.status_code == 400
        error = ErrorResponse.model_validate(response.json())
        assert error.error.type == "invalid_request_error" and error.error.message == message
        assert error.request_id == response.headers["request-id"]
    assert len(emulator.store) == 0


@pytest.mark.parametrize("name", ["temperature", "top_p", "top_k"])
def test_sampling_parameters_are_refused_under_2026_10_21_even_at_defaults(
    client: anthropic.Anthropic, old_client: anthropic.Anthropic, name: str
) -> None:
    value = 1 if name != "top_k" else 40
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HI, extra_body={name: value})
    assert caught.value.body["error"]["message"] == f"{name}: Extra inputs are not permitted"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError, match=f"{name}: Extra inputs"):
        client.messages.count_tokens(model="claude-haiku-5-5", messages=HI, extra_body={name: value})
    old = old_client.messages.create(
        model="claude-haiku-5-5", max_tokens=20, messages=HI, extra_body={name: value}
    )
    assert (
        old.content
        and old_client.messages.count_tokens(
            model="claude-haiku-5-5", messages=HI, extra_body={name: value}
        ).input_tokens
    )


def test_a_batch_checks_its_requests_against_the_create_calls_version(
    client: anthropic.Anthropic, old_client: anthropic.Anthropic, clock: ManualClock
) -> None:
    requests = [request("warm", temperature=0.3), request("plain")]
    new = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    old = old_client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    clock.advance(601)
    for batch_id, reader in ((new.id, old_client), (old.id, client)):  # read back under the other version
        results = {line.custom_id: line.result for line in validated_results(reader, batch_id)}
        assert results["plain"].type == "succeeded"
        warm = results["warm"]
        if batch_id == new.id:
            assert warm.type == "errored" and warm.error.error.type == "invalid_request_error"
            assert warm.error.error.message == "temperature: Extra inputs are not permitted"
        else:
            assert warm.type == "succeeded"


def test_2026_10_21_content_rules(client: anthropic.Anthropic, old_client: anthropic.Anthropic) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a memo"}}
    in_assistant = [*HI, {"role": "assistant", "content": [document]}, {"role": "user", "content": "go on"}]
    cited = {
        "type": "text",
        "text": "As the memo says.",
        "citations": [
            {
                "type": "char_location",
                "cited_text": "memo",
                "document_index": 0,
                "document_title": None,
                "start_char_index": 0,
                "end_char_index": 4,
            }
        ],
    }
    for messages, needle in (
        (in_assistant, "messages.1.content.0: document blocks are not supported in assistant messages"),
        (
            [{"role": "user", "content": [cited]}],
            "messages.0.content.0.citations: citations are not supported",
        ),
    ):
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=messages)  # type: ignore[arg-type]
        assert caught.value.body["error"]["message"].startswith(needle)  # type: ignore[index]
        assert old_client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=messages).content  # type: ignore[arg-type]


def test_an_unknown_model_is_404_directly_and_an_invalid_request_in_a_batch(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="claude-nope", max_tokens=20, messages=HI)
    assert caught.value.status_code == 404
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-nope"},
        "request_id": caught.value.request_id,
    }
    with pytest.raises(anthropic.NotFoundError), pytest.warns(DeprecationWarning):  # the SDK warns; retired
        client.messages.create(model="claude-mythos-preview", max_tokens=20, messages=HI)
    batch = client.messages.batches.create(requests=[request("nope", model="claude-nope")])
    clock.advance(601)
    (line,) = validated_results(client, batch.id)
    assert line.result.type == "errored"
    assert line.result.error.error.type == "invalid_request_error"
    assert line.result.error.error.message == "model: claude-nope"


def test_max_tokens_zero_or_above_the_limit_errors_in_a_batch(
    client: anthropic.Anthropic, clock: ManualClock
) -> None:
    batch = client.messages.batches.create(
        requests=[
            request("zero", max_tokens=0),
            request("huge", max_tokens=900_000, model="claude-sonnet-5-5"),
            request("fine", max_tokens=64_000, model="claude-sonnet-5-5"),
        ]
    )
    clock.advance(601)
    results = {line.custom_id: line.result for line in validated_results(client, batch.id)}
    assert results["fine"].type == "succeeded"
    assert results["zero"].error.error.message == "max_tokens: Input should be greater than or equal to 1"  # type: ignore[union-attr]
    assert results["huge"].error.error.message == (  # type: ignore[union-attr]
        "max_tokens: 900000 > 64000, which is the maximum allowed number of output tokens "
        "for claude-sonnet-5-5"
    )
    assert {r.error.error.type for r in (results["zero"], results["huge"])} == {"invalid_request_error"}  # type: ignore[union-attr]


def test_the_context_window(client: anthropic.Anthropic) -> None:
    """A prompt over the window is refused; a prompt that leaves less room than max_tokens stops with
    model_context_window_exceeded (the API's behaviour for current models)."""
    window = client.models.retrieve("claude-haiku-5-5").max_input_tokens
    assert window == 200_000
    filler = "harbour logistics report " * 31_990  # ~200k tokens at ~4 characters a token
    big = [{"role": "user", "content": "Write a detailed report on " + filler}]
    tokens = client.messages.count_tokens(model="claude-haiku-5-5", messages=big).input_tokens  # type: ignore[arg-type]
    assert window - 400 < tokens <= window
    cut = client.messages.create(model="claude-haiku-5-5", max_tokens=4000, messages=big)  # type: ignore[arg-type]
    assert cut.stop_reason == "model_context_window_exceeded"
    assert cut.usage.output_tokens == window - tokens
    small = client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=big)  # type: ignore[arg-type]
    assert small.stop_reason == "max_tokens"
    too_big = [{"role": "user", "content": filler * 2}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=too_big)  # type: ignore[arg-type]
    message = caught.value.body["error"]["message"]  # type: ignore[index]
    assert message.startswith("prompt is too long: ") and message.endswith(" tokens > 200000 maximum")
