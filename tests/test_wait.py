"""`batchboard wait` and `submit --wait`: block until batches end, exit status by how they ended (0 all
succeeded, 1 some errored, 2 canceled/expired or timed out), backing off on API errors; time compressed
with a ManualClock shared with the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.wait import UnknownBatch, wait_for
from batchboard.emulator import Emulator, EmulatorSettings, Fault

CLI = [sys.executable, "-m", "batchboard"]


@pytest.fixture
def world() -> Iterator[tuple[Emulator, ManualClock, str]]:
    clock = ManualClock()
    emu = Emulator(EmulatorSettings(seed=5, demo=False, batch_duration=60.0, error_rate=0.0), clock=clock)
    with emu.running_in_thread() as base_url:
        yield emu, clock, base_url


def api_for(base_url: str) -> BatchApi:
    return BatchApi(
        make_client(Connection(base_url=base_url, api_key="sk-ant-emulator", max_retries=0, timeout=10))
    )


async def waited(
    base_url: str, clock: ManualClock, ids: list[str], give_up_after: float | None = None
) -> tuple[int, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the compressed clock: a poll interval passes at once
        slept.append(seconds)
        clock.advance(seconds)

    api = api_for(base_url)
    try:
        result = await wait_for(api, ids, interval=5.0, clock=clock, give_up_after=give_up_after, sleep=sleep)
    finally:
        await api.close()
    return result.exit_status, slept


async def test_the_exit_status_says_how_the_batches_ended(world: tuple[Emulator, ManualClock, str]) -> None:
    emu, clock, base_url = world
    good = emu.add_batch(count=20, duration=60, error_rate=0.0)
    bad = emu.add_batch(count=20, duration=60, error_rate=0.5)
    status, slept = await waited(base_url, clock, [good])
    assert status == 0 and sum(slept) >= 60 and set(slept) == {5.0}  # polled every interval until it ended
    assert (await waited(base_url, clock, [bad]))[0] == 1
    assert (await waited(base_url, clock, [good, bad]))[0] == 1  # the worst of them
    canceled = emu.add_batch(count=20, duration=600, error_rate=0.0)
    api = api_for(base_url)
    await api.cancel(canceled)
    await api.close()
    assert (await waited(base_url, clock, [good, canceled]))[0] == 2


async def test_a_timeout_is_status_2_and_stops_at_the_deadline(
    world: tuple[Emulator, ManualClock, str],
) -> None:
    emu, clock, base_url = world
    slow = emu.add_batch(count=5, duration=3600, error_rate=0.0)
    status, slept = await waited(base_url, clock, [slow], give_up_after=12)
    assert status == 2 and slept == [5.0, 5.0, 2.0]


async def test_api_errors_back_off_and_an_unknown_id_stops_at_once(
    world: tuple[Emulator, ManualClock, str],
) -> None:
    emu, clock, base_url = world
    quick = emu.add_batch(count=5, duration=1, error_rate=0.0)
    emu.faults.add(Fault(kind="overloaded", path="/v1/messages/batches", times=3))
    status, slept = await waited(base_url, clock, [quick])
    assert status == 0 and slept[:3] == [5.0, 10.0, 20.0]  # doubled per failure in a row, then back to 5
    with pytest.raises(UnknownBatch, match="msgbatch_nope"):
        await waited(base_url, clock, ["msgbatch_nope"])


def polled(emu: Emulator, batch_id: str, times: int = 1, limit: float = 30.0) -> None:
    """Return once the emulator has answered `times` reads of `batch_id` (the waiter is in its loop)."""
    deadline = time.monotonic() + limit
    while emu.request_log.count(("GET", f"/v1/messages/batches/{batch_id}")) < times:
        assert time.monotonic() < deadline, "the waiter never asked for the batch"
        time.sleep(0.02)


@pytest.fixture
def cli_env(
    world: tuple[Emulator, ManualClock, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The CLI (in this process or a child) on the emulator, polling every second."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-emulator")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", world[2])
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text("poll_interval = 1\n")
    monkeypatch.setenv("BATCHBOARD_CONFIG_DIR", str(config))


@pytest.mark.usefixtures("cli_env")
def test_the_command_waits_in_a_real_process_and_prints_json(
    world: tuple[Emulator, ManualClock, str],
) -> None:
    emu, clock, _ = world
    from batchboard.cli import main

    batch = emu.add_batch(count=10, duration=600, error_rate=0.0)
    assert main(["label", batch, "nightly"]) == 0  # the JSON shows it, as `list --json` does
    process = subprocess.Popen(
        [*CLI, "wait", batch, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    polled(emu, batch)
    assert process.poll() is None  # still waiting: the batch runs for 10 minutes of the emulator's clock
    clock.advance(timedelta(minutes=11).total_seconds())
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert err == ""  # no progress line: stderr is not a terminal
    document = json.loads(out)
    assert document["exit_status"] == 0 and not document["timed_out"]
    assert [b["id"] for b in document["batches"]] == [batch]
    assert document["batches"][0]["request_counts"]["succeeded"] == 10
    assert document["batches"][0]["label"] == "nightly"


@pytest.mark.usefixtures("cli_env")
def test_the_command_says_an_unknown_id_and_a_timeout(
    world: tuple[Emulator, ManualClock, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.cli import main

    assert main(["wait", "msgbatch_nope"]) == 1
    assert capsys.readouterr().err.startswith("batchboard: could not look up batch msgbatch_nope")
    assert main(["wait", world[0].add_batch(count=3, duration=600), "--timeout", "0.3"]) == 2
    assert "gave up waiting after 0.3 s" in capsys.readouterr().err
    assert main(["wait", "msgbatch_x", "--timeout", "-1"]) == 2  # a usage error, said before any call


@pytest.mark.usefixtures("cli_env")
def test_submit_wait_waits_for_what_it_sent(
    world: tuple[Emulator, ManualClock, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.cli import main

    emu, clock, base_url = world
    requests = tmp_path / "requests.jsonl"
    params = {"model": "claude-haiku-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    requests.write_text(
        "".join(json.dumps({"custom_id": f"r-{i}", "params": params}) + "\n" for i in range(3))
    )
    status: list[int] = []
    submitting = threading.Thread(
        target=lambda: status.append(main(["submit", str(requests), "--yes", "--wait", "--json"]))
    )
    submitting.start()
    try:
        deadline = time.monotonic() + 30
        while not api_batches(base_url):  # until the batch exists
            assert submitting.is_alive() and time.monotonic() < deadline, status
            time.sleep(0.02)
        sent = str(api_batches(base_url)[0].id)  # type: ignore[attr-defined]
        polled(emu, sent)
        assert submitting.is_alive()  # waiting for it: the batch runs for a minute of the emulator's clock
    finally:
        clock.advance(120)
        submitting.join(60)
    assert status == [0], capsys.readouterr().err
    document = json.loads(capsys.readouterr().out)
    assert document["wait"]["exit_status"] == 0
    assert (
        [b["id"] for b in document["wait"]["batches"]]
        == [c["batch_id"] for c in document["submission"]["batches"]]
        == [sent]
    )


def api_batches(base_url: str) -> list[object]:
    import anthropic

    with anthropic.Anthropic(api_key="sk-ant-emulator", base_url=base_url, max_retries=0) as sdk:
        return list(sdk.messages.batches.list())
