"""`batchboard results`, `list` and `cost` against the emulator, credentials from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from batchboard.cli import main
from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, str]]:
    clock = ManualClock()
    emu = Emulator(EmulatorSettings(seed=5, demo=False), clock=clock)
    batch_id = emu.add_batch(
        count=120,
        created_at=clock.now() - timedelta(hours=3),
        duration=60,
        error_rate=0.25,
        invalid_rate=0.05,
    )
    with emu.running_in_thread() as base_url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-emulator")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        yield emu, batch_id


def test_results_writes_the_file_then_reuses_the_local_copy(
    world: tuple[Emulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu, batch_id = world
    out = tmp_path / "all.jsonl"
    assert main(["results", batch_id, "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["downloaded"] is True and summary["results"] == 120
    lines = out.read_bytes().splitlines()
    assert len(lines) == 120 and all(orjson.loads(line)["custom_id"] for line in lines)
    assert {g["result_type"] for g in summary["groups"]} >= {"succeeded", "errored"}

    emu.stop_in_thread()  # no API any more: the local copy must serve
    errored = tmp_path / "errored.jsonl"
    assert main(["results", batch_id, "-o", str(errored), "--only", "errored"]) == 0
    kinds = {orjson.loads(line)["result"]["type"] for line in errored.read_bytes().splitlines()}
    assert kinds == {"errored"}
    base = tmp_path / "split"
    assert main(["results", batch_id, "-o", str(base), "--split"]) == 0
    ok = Path(f"{base}.succeeded.jsonl").read_bytes().splitlines()
    bad = Path(f"{base}.problems.jsonl").read_bytes().splitlines()
    assert len(ok) + len(bad) == 120 and ok and bad
    assert not list(tmp_path.glob(".*.part"))


def test_cost_and_list(world: tuple[Emulator, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, batch_id = world
    assert main(["cost", batch_id, "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert cost["batch_id"] == batch_id and cost["batch_cost_usd"] > 0
    assert cost["saving_usd"] == pytest.approx(cost["batch_cost_usd"])  # batch = 50% of standard
    assert main(["cost", batch_id]) == 0
    text = capsys.readouterr().out
    assert "at batch price" in text and "claude-haiku-5-5" in text
    assert main(["cost", "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)
    assert totals["all_time"]["batches"] == 1
    assert totals["all_time"]["cost_usd"] == pytest.approx(cost["batch_cost_usd"])
    assert main(["list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == batch_id and listed["cost_usd"] == pytest.approx(cost["batch_cost_usd"])
    assert main(["list"]) == 0
    assert batch_id in capsys.readouterr().out


def test_no_key_is_exit_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", "msgbatch_x"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err
    assert main(["list"]) == 2


def test_unknown_batch_is_reported(world: tuple[Emulator, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", "msgbatch_doesnotexist000000000", "-o", "-"]) == 1
    assert "404" in capsys.readouterr().err
