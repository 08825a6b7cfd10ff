"""`batchboard results --only truncated|invalid|refused|usable`, `cost` per class and `attach` checking the
outputs, against an emulator batch with structured outputs, short max_tokens and refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from tests.results.helpers import ORDER_SCHEMA

from batchboard.cli import main
from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An ended batch sent elsewhere: a third ask for a JSON schema (a quarter of those break it), a tenth
    have a tiny max_tokens, 5% are refused. Returns its id and its requests file."""
    clock = ManualClock()
    emu = Emulator(EmulatorSettings(seed=9, demo=False), clock=clock)
    batch_id = emu.add_batch(
        count=200,
        created_at=clock.now() - timedelta(hours=3),
        duration=60,
        error_rate=0.05,
        kind="extract",
        schema=ORDER_SCHEMA,
        schema_share=0.35,
        short_share=0.1,
        refusal_rate=0.05,
        invalid_output_rate=0.25,
    )
    requests = tmp_path / "sent.jsonl"
    requests.write_bytes(b"".join(emu.request_lines(batch_id)))
    with emu.running_in_thread() as base_url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-emulator")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        yield batch_id, requests


def custom_ids(path: Path) -> list[str]:
    return [orjson.loads(line)["custom_id"] for line in path.read_bytes().splitlines()]


def summary_counts(summary: dict[str, object]) -> dict[str, int]:
    groups = summary["groups"]
    assert isinstance(groups, list)
    return {g["unusable"] or g["error_type"] or g["result_type"]: g["count"] for g in groups}


def test_only_writes_each_class_and_attach_finds_the_invalid_outputs(
    world: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id, requests = world
    assert main(["results", batch_id, "-o", str(tmp_path / "all.jsonl"), "--json"]) == 0
    before = summary_counts(json.loads(capsys.readouterr().out))
    assert before["truncated"] > 0 and before["refused"] > 0
    assert "invalid_output" not in before  # the schemas are not known here yet

    assert main(["attach", batch_id, str(requests), "--json"]) == 0
    attached = json.loads(capsys.readouterr().out)
    assert attached["invalid_outputs"] > 0 and attached["outputs_checked"] >= attached["invalid_outputs"]

    assert main(["results", batch_id, "-o", str(tmp_path / "again.jsonl"), "--json"]) == 0
    after = summary_counts(json.loads(capsys.readouterr().out))
    assert after["invalid_output"] == attached["invalid_outputs"]
    assert after["succeeded"] == before["succeeded"] - after["invalid_output"]  # usable ones only

    every = {
        orjson.loads(line)["custom_id"]: orjson.loads(line) for line in (tmp_path / "all.jsonl").open("rb")
    }
    for word, name in (("truncated", "truncated"), ("invalid", "invalid_output"), ("refused", "refused")):
        out = tmp_path / f"{word}.jsonl"
        assert main(["results", batch_id, "--only", word, "-o", str(out)]) == 0
        ids = custom_ids(out)
        assert len(ids) == after[name] and ids == sorted(ids, key=list(every).index)  # file order
        stops = {every[cid]["result"]["message"]["stop_reason"] for cid in ids}
        expected = {
            "truncated": {"max_tokens"},
            "invalid_output": {"end_turn"},
            "refused": {"refusal"},
        }[name]
        assert stops == expected
    assert main(["results", batch_id, "--only", "usable", "-o", str(tmp_path / "usable.jsonl")]) == 0
    assert len(custom_ids(tmp_path / "usable.jsonl")) == after["succeeded"]
    assert main(["results", batch_id, "--only", "succeeded", "-o", str(tmp_path / "ok.jsonl")]) == 0
    every_answer = before["succeeded"] + before["truncated"] + before["refused"]  # as the API counts them
    assert len(custom_ids(tmp_path / "ok.jsonl")) == every_answer
    capsys.readouterr()

    # What they cost, per class, beside the batch's cost.
    assert main(["cost", batch_id, "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    unusable = cost["unusable"]
    assert set(unusable) == {"truncated", "invalid_output", "refused"}
    assert {name: v["requests"] for name, v in unusable.items()} == {name: after[name] for name in unusable}
    assert all(0 < v["batch_cost_usd"] < cost["batch_cost_usd"] for v in unusable.values())
    assert sum(v["batch_cost_usd"] for v in unusable.values()) < cost["batch_cost_usd"]
    assert main(["cost", batch_id]) == 0
    text = capsys.readouterr().out
    assert "succeeded but unusable" in text and "invalid output" in text
    assert main(["cost", "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)
    assert totals["unusable_all_time"]["refused"]["requests"] == after["refused"]
    assert totals["batches"][batch_id]["unusable"] == unusable
