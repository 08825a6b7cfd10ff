"""`batchboard emulator` as users run it: prints its URL, serves the SDK, stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx2
import pytest
from tests.emulator.conftest import sync_client


def launch(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "batchboard", "emulator", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serves_until_interrupted_then_exits_zero() -> None:
    process = launch(
        "--port",
        "0",
        "--seed",
        "4",
        "--batch-duration",
        "1",
        "--refusal-rate",
        "0.05",
        "--invalid-output-rate",
        "0.1",
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        hint = process.stdout.readline()
        base_url = first.split()[-1]
        assert base_url.startswith("http://127.0.0.1:")
        assert f"export ANTHROPIC_BASE_URL={base_url}" in hint
        with sync_client(base_url) as sdk:
            batches = sdk.messages.batches.list(limit=100).data
            assert len(batches) >= 12  # the demo world
        settings = httpx2.get(f"{base_url}/_emulator/state", timeout=10).json()["settings"]
        assert settings["refusal_rate"] == 0.05 and settings["invalid_output_rate"] == 0.1
        ended = next(b for b in batches if b.processing_status == "ended" and b.archived_at is None)
        requests = httpx2.get(f"{base_url}/_emulator/batches/{ended.id}/requests", timeout=30)
        assert requests.status_code == 200 and requests.text.count("\n") == ended.request_counts.succeeded + (
            ended.request_counts.errored + ended.request_counts.canceled + ended.request_counts.expired
        )
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = launch("--port", str(port), "--empty")
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "already in use" in err and str(port) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("flag", "name"), [("--error-rate", "error_rate"), ("--refusal-rate", "refusal_rate")]
)
def test_bad_flag_values_are_refused(flag: str, name: str) -> None:
    process = launch(flag, "2")
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 2 and name in err
