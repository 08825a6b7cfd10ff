"""The CLI as a process in a pipeline: a closed pipe ends every printing command quietly, `list` streams its
rows page by page, and an unknown batch is exit status 1 with a plain message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from batchboard.cli import EXIT_CLOSED_PIPE, main
from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings

#: Two pages of `list`, the first (1,000 rows of about 140 bytes) well past a pipe's buffer (64 KiB on
#: Linux): `list | head -3` is certain to meet the broken pipe.
MANY = 1001
CLI = [sys.executable, "-m", "batchboard"]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[str, str]]:
    """An emulator in a thread with MANY ended one-request batches and one ended batch of 200 results;
    yields its URL and that batch's id."""
    clock = ManualClock()
    emu = Emulator(EmulatorSettings(seed=3, demo=False), clock=clock)
    past = clock.now() - timedelta(hours=3)
    for i in range(MANY):
        emu.add_batch(count=1, created_at=past + timedelta(seconds=i), duration=60)
    big = emu.add_batch(count=200, created_at=past - timedelta(hours=1), duration=60, error_rate=0.1)
    with emu.running_in_thread() as base_url:
        yield base_url, big


@pytest.fixture
def api(world: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's environment (inherited by subprocesses) points at the emulator; returns the big batch."""
    base_url, big = world
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-emulator")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
    monkeypatch.setenv("PYTHONWARNINGS", "default")  # an "Exception ignored" at exit would show
    return big


def test_every_printing_command_exits_quietly_on_a_closed_pipe(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each printing command, in this process, writing to a pipe whose reader is gone (one catch in
    cli.main serves them all: the process-level end is checked by the subprocess tests below)."""
    assert main(["results", api, "-o", str(tmp_path / "big.jsonl")]) == 0  # local copy: cost, job read it
    commands = [
        ["list"],
        ["list", "--json"],
        ["list", "--jsonl"],
        ["results", api, "-o", "-"],
        ["results", api, "--job", "-o", "-"],
        ["cost"],
        ["cost", api],
        ["cost", api, "--json"],
        ["job", api],
        ["config"],
        ["config", "--json"],
        ["config", "path"],
        ["label", api, "nightly"],
    ]
    capsys.readouterr()
    for argv in commands:
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first byte: every write to stdout fails with EPIPE
        with open(write, "w", encoding="utf-8") as closed, monkeypatch.context() as patch:
            patch.setattr(sys, "stdout", closed)
            assert main(argv) == EXIT_CLOSED_PIPE, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and "Broken" not in err, (argv, err)


def test_a_process_on_a_closed_pipe_exits_141_with_nothing_on_stderr(api: str, tmp_path: Path) -> None:
    """The whole process: nothing left buffered at exit to fail again ("Exception ignored"), for a
    command that prints a lot, one that prints a little, and argparse's help (which exits 0)."""
    assert main(["results", api, "-o", str(tmp_path / "big.jsonl")]) == 0  # read from here, not the API
    commands = [["results", api, "-o", "-"], ["config", "path"]]
    helps = [["--help"], ["list", "--help"]]
    read, write = os.pipe()
    os.close(read)
    try:
        running = [
            (argv, subprocess.Popen([*CLI, *argv], stdout=write, stderr=subprocess.PIPE, text=True))
            for argv in commands + helps
        ]
    finally:
        os.close(write)
    for argv, process in running:
        _, err = process.communicate(timeout=120)
        assert err == "", (argv, err)
        expected = 0 if argv in helps else EXIT_CLOSED_PIPE
        assert process.returncode == expected, (argv, process.returncode, err)


def test_list_into_head_prints_three_lines_and_no_traceback(api: str) -> None:
    shell = f"{' '.join(CLI)} list | head -3; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert done.stderr == "", done.stderr
    assert done.returncode == EXIT_CLOSED_PIPE
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:2] == ["ID", "STATUS"] and lines[1].startswith("msgbatch_")


def test_list_prints_each_page_before_asking_for_the_next(
    api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.gateway.batches import BatchApi

    printed_before: list[int] = []
    original = BatchApi.list_page

    async def list_page(self: BatchApi, *args: Any, **kwargs: Any) -> Any:
        printed_before.append(len(capsys.readouterr().out.splitlines()))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(BatchApi, "list_page", list_page)
    assert main(["list", "--jsonl"]) == 0
    # Two pages of 1,000: the first page's rows were out before the second page was asked for.
    assert printed_before == [0, 1000]


def test_list_json_is_still_one_array_and_shows_labels(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import HOSTILE

    assert main(["label", api, HOSTILE]) == 0
    assert "\x1b" not in capsys.readouterr().out  # printed safely: control characters as \x1b
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert isinstance(listed, list) and len(listed) == MANY + 1
    labels = {b["id"]: b["label"] for b in listed}
    assert labels[api] == HOSTILE.strip() and sum(label is not None for label in labels.values()) == 1
    assert main(["list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(api))
    assert row.endswith("[/] [@click=app.quit]x[/] list[int] \\x1b[31mred\\x1b[0m [bold]not bold")
    assert main(["label", api, "--clear"]) == 0
    assert capsys.readouterr().out == f"{api}: label cleared\n"
    assert main(["list", "--jsonl"]) == 0
    assert all(json.loads(line)["label"] is None for line in capsys.readouterr().out.splitlines())


def test_label_is_trimmed_and_blank_clears_it(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    from batchboard.core.store import Store

    assert main(["label", api]) == 2 and main(["label", api, "x", "--clear"]) == 2
    assert main(["label", api, "  nightly run  ", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"batch_id": api, "label": "nightly run"}
    with Store.open() as store:  # the dashboard's store, by its rule: trimmed, as typed
        assert store.label(api) == "nightly run"
    assert main(["label", api, "   "]) == 0  # blank clears, as an empty `l` does
    with Store.open() as store:
        assert store.label(api) is None


def test_an_unknown_batch_is_exit_1_with_a_plain_message(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["job", "msgbatch_nope"],
        ["job", "msgbatch_nope", "--json"],
        ["cost", "msgbatch_nope"],
        ["label", "msgbatch_nope", "x"],
    ):
        assert main(argv) == 1, argv
        out, err = capsys.readouterr()
        assert out == "" and "Traceback" not in err, argv
        assert err.startswith("batchboard: could not look up batch msgbatch_nope: HTTP 404"), (argv, err)
