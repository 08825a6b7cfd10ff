"""Error classes the SDK raises against the emulator, the envelope and headers, and injected faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anthropic
import httpx2
import pytest
from tests.emulator.conftest import API_KEY, request, sync_client

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings, Fault

BATCHES = "/v1/messages/batches"
VERSION = "2026-10-21"


def raw(emulator: Emulator, method: str, path: str, **kwargs: Any) -> httpx2.Response:
    """A plain HTTP call, for what the SDK cannot send (no key, broken JSON, control endpoints); it sends
    the `anthropic-version` the SDK sends unless `headers` says otherwise."""
    kwargs["headers"] = {"anthropic-version": VERSION, **kwargs.get("headers", {})}
    return httpx2.request(method, f"{emulator.base_url}{path}", timeout=10, **kwargs)


def test_missing_api_key_is_an_authentication_error(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.batches.list(extra_headers={"Authorization": anthropic.Omit()})
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_an_empty_bearer_token_is_no_key(emulator: Emulator) -> None:
    response = raw(emulator, "GET", BATCHES, headers={"Authorization": "Bearer"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        ("Basic dXNlcjpwYXNz", 401),
        ("Token abc", 401),
        ("Bearerabc", 401),
        ("bearer abc", 200),
        ("BEARER x", 200),
    ],
)
def test_only_the_bearer_scheme_authenticates(emulator: Emulator, authorization: str, status: int) -> None:
    response = raw(emulator, "GET", BATCHES, headers={"Authorization": authorization})
    assert response.status_code == status


def test_the_request_log_is_bounded(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from batchboard.emulator.emulator import REQUEST_LOG_SIZE, RequestLog

    assert emulator.request_log.maxlen == REQUEST_LOG_SIZE
    log = RequestLog(maxlen=3)
    for i in range(5):
        log.append(("GET", f"/{i}"))
    assert list(log) == [("GET", "/2"), ("GET", "/3"), ("GET", "/4")] and log.served == 5
    assert log[-2:] == [("GET", "/3"), ("GET", "/4")] and log[0] == ("GET", "/2")
    monkeypatch.setattr(emulator, "request_log", RequestLog(maxlen=2))
    for _ in range(4):
        raw(emulator, "GET", BATCHES, headers={"x-api-key": "k"})
    assert len(emulator.request_log) == 2 and emulator.request_log.served == 4


def test_x_api_key_header_is_accepted(emulator: Emulator) -> None:
    response = raw(emulator, "GET", BATCHES, headers={"x-api-key": "anything"})
    assert response.status_code == 200 and response.json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        ("GET", "/v1/nothing-here", 404, "not_found_error"),
        ("GET", f"{BATCHES}/msgbatch_missing", 404, "not_found_error"),
        ("POST", BATCHES, 400, "invalid_request_error"),
        ("GET", "/v1/models/claude-nope", 404, "not_found_error"),
    ],
)
def test_every_failure_has_the_envelope_and_a_request_id(
    emulator: Emulator, method: str, path: str, status: int, kind: str
) -> None:
    response = raw(emulator, method, path, headers={"x-api-key": API_KEY}, content=b"{not json")
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind and body["error"]["message"]
    assert response.headers["request-id"].startswith("req_")
    assert body["request_id"] == response.headers["request-id"]


def test_beta_query_and_an_older_version_are_accepted(emulator: Emulator) -> None:
    response = raw(
        emulator,
        "GET",
        f"{BATCHES}?beta=true",
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"requests": []}, "requests: List should have at least 1 item"),
        ({}, "requests: Field required"),
        ({"requests": {"custom_id": "x"}}, "requests: Input should be a valid list"),
        ({"requests": [{"params": {}}]}, "requests.0.custom_id: Field required"),
        ({"requests": [{"custom_id": "has space", "params": {}}]}, "custom_id 'has space' is invalid"),
        ({"requests": [{"custom_id": "x" * 65, "params": {}}]}, "is invalid"),
        ({"requests": [request("dup"), request("ok"), request("dup")]}, "duplicate custom_id 'dup'"),
        ({"requests": [{"custom_id": "a"}]}, "requests.0.params: Field required"),
        (
            {"requests": [{"custom_id": "a", "params": [1]}]},
            "requests.0.params: Input should be a valid dictionary",
        ),
    ],
)
def test_malformed_envelope_is_a_bad_request_naming_the_problem(
    client: anthropic.Anthropic, emulator: Emulator, body: dict[str, object], needle: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.post(BATCHES, body=body, cast_to=object)
    assert needle in caught.value.body["error"]["message"]  # type: ignore[index]
    assert len(emulator.store) == 0


@pytest.mark.parametrize(("limit", "said"), [(1, "at most 1 request"), (10, "at most 10 requests")])
def test_too_many_requests_is_a_bad_request(clock: object, limit: int, said: str) -> None:
    emu = Emulator(EmulatorSettings(demo=False, max_batch_requests=limit))
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        sdk.messages.batches.create(requests=[request(f"r{i}") for i in range(limit)])
        with pytest.raises(anthropic.BadRequestError) as caught:
            sdk.messages.batches.create(requests=[request(f"r{i}") for i in range(limit + 1)])
        assert caught.value.body["error"]["message"].endswith(f"a batch may contain {said}")  # type: ignore[index]


def test_oversized_body_is_413_request_too_large() -> None:
    emu = Emulator(EmulatorSettings(demo=False, max_body_bytes=20_000))
    with emu.running_in_thread() as base_url, sync_client(base_url) as sdk:
        with pytest.raises(anthropic.APIStatusError) as caught:
            sdk.messages.batches.create(requests=[request(f"r{i}", "x" * 1000) for i in range(40)])
        assert caught.value.status_code == 413
        assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]
        # Without Content-Length (chunked), the body is counted as it streams in.
        chunks = (
            b'{"requests": ['
            + b",".join(b'{"custom_id": "a%d", "params": {}}' % i for i in range(2000))
            + b"]}",
        )
        response = httpx2.post(
            f"{base_url}{BATCHES}",
            headers={"x-api-key": API_KEY, "anthropic-version": VERSION},
            content=iter(chunks),
            timeout=10,
        )
        assert response.status_code == 413
        assert len(emu.store) == 0


def test_rate_limit_raises_without_retries_and_recovers_with_them(
    client: anthropic.Anthropic, emulator: Emulator
) -> None:
    emulator.faults.add(Fault(kind="rate_limit", method="GET", path=BATCHES, retry_after_ms=10))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.batches.list()
    assert caught.value.response.headers["retry-after-ms"] == "10"
    emulator.faults.add(Fault(kind="rate_limit", method="GET", path=BATCHES, retry_after_ms=10))
    assert emulator.base_url is not None
    with sync_client(emulator.base_url, max_retries=2) as patient:
        assert patient.messages.batches.list().data == []
    assert emulator.request_log[-2:] == [("GET", BATCHES), ("GET", BATCHES)]


def test_overloaded_and_api_error_faults(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="overloaded", path="/v1/models"))
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.models.list()
    assert overloaded.value.status_code == 529
    emulator.faults.add(Fault(kind="api_error", path="/v1/models"))
    with pytest.raises(anthropic.InternalServerError):
        client.models.list()
    assert client.models.list().data  # faults are used up


def test_drop_before_processing_creates_nothing(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="drop_before", method="POST", path=BATCHES))
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.batches.create(requests=[request("x")])
    assert len(emulator.store) == 0


def test_drop_after_processing_has_created_the_batch(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="drop_after", method="POST", path=BATCHES))
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.batches.create(requests=[request("x")])
    assert len(emulator.store) == 1  # the server did the work; only the answer was lost
    assert emulator.faults.pending() == []


def test_faults_over_http_and_state(emulator: Emulator, client: anthropic.Anthropic) -> None:
    added = raw(
        emulator, "POST", "/_emulator/faults", json=[{"kind": "overloaded", "path": BATCHES, "times": 2}]
    )
    assert added.status_code == 200 and added.json()["faults"][0]["times"] == 2
    assert raw(emulator, "GET", "/_emulator/state").json()["faults"][0]["kind"] == "overloaded"
    with pytest.raises(anthropic.OverloadedError):
        client.messages.batches.list()
    assert raw(emulator, "DELETE", "/_emulator/faults").json() == {"faults": []}
    assert client.messages.batches.list().data == []
    bad = raw(emulator, "POST", "/_emulator/faults", json={"kind": "meteor"})
    assert bad.status_code == 400 and "meteor" in bad.json()["error"]["message"]
    for extra, said in (({"nope": 1}, "field: nope"), ({"nope": 1, "zap": 2}, "fields: nope, zap")):
        bad = raw(emulator, "POST", "/_emulator/faults", json={"kind": "overloaded", **extra})
        assert bad.json()["error"]["message"] == f"invalid fault: unknown fault {said}"


def test_clock_advance_over_http(emulator: Emulator, client: anthropic.Anthropic) -> None:
    batch_id = emulator.add_batch(count=3, duration=600)
    response = raw(emulator, "POST", "/_emulator/clock/advance", json={"seconds": 600})
    assert response.status_code == 200
    assert client.messages.batches.retrieve(batch_id).processing_status == "ended"


def test_clock_advance_refused_on_the_system_clock() -> None:
    emu = Emulator(EmulatorSettings(demo=False))
    with emu.running_in_thread():
        response = raw(emu, "POST", "/_emulator/clock/advance", json={"seconds": 1})
    assert response.status_code == 400


def test_drop_after_cuts_a_results_download_half_way(
    client: anthropic.Anthropic, emulator: Emulator, clock: ManualClock
) -> None:
    batch_id = emulator.add_batch(count=400, created_at=clock.now() - timedelta(hours=1), duration=60)
    emulator.faults.add(Fault(kind="drop_after", method="GET", path=f"{BATCHES}/{batch_id}/results"))
    received = []
    # Mid-body, the SDK lets httpx's own error through (it wraps only errors before the response starts).
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117 - the error surfaces while iterating
        with client.messages.batches.with_streaming_response.results(batch_id) as response:
            for line in response.iter_lines():
                received.append(line)
    assert 0 < len(received) < 400
    assert len(list(client.messages.batches.results(batch_id))) == 400  # the next try gets everything


def test_drop_after_cuts_a_stream(client: anthropic.Anthropic, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="drop_after", method="POST", path="/v1/messages"))
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117 - the error surfaces while iterating
        with client.messages.stream(
            model="claude-haiku-5-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Summarise tides"}],
        ) as stream:
            stream.get_final_message()
