"""`batchboard config`: show, --json, set, unset and path, through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from batchboard.cli import main
from batchboard.core import paths


def test_show_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert f"config file: {paths.config_file()} (not created yet" in out
    assert f"data dir:    {paths.data_dir()}" in out
    assert "poll_interval          5" in out
    assert all(line.endswith("default") for line in out.splitlines()[3:])


def test_set_then_show_reports_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "poll_interval", "2"]) == 0
    assert capsys.readouterr().out == f"poll_interval = 2  (written to {paths.config_file()})\n"
    assert main(["config", "set", "profiles.work.api_key_env", "WORK_KEY"]) == 0
    capsys.readouterr()
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["poll_interval", "2", "file"] for line in lines)
    assert any(line.split() == ["profiles.work.api_key_env", "WORK_KEY", "file"] for line in lines)
    assert any(line.split() == ["theme", "textual-dark", "default"] for line in lines)


def test_fetch_results_days_shows_sets_and_turns_off(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    assert any(
        line.split() == ["fetch_results_days", "7", "default"]
        for line in capsys.readouterr().out.splitlines()
    )
    assert main(["config", "set", "fetch_results_days", "0"]) == 0
    assert capsys.readouterr().out == f"fetch_results_days = 0 (off)  (written to {paths.config_file()})\n"
    assert main(["config", "set", "fetch_results_days", "-2"]) == 2
    assert "fetch_results_days: expected a whole number of days ≥ 0" in capsys.readouterr().err
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["fetch_results_days", "0", "(off)", "file"] for line in lines)


def test_bad_value_exits_2_naming_key_and_expected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "poll_interval", "fast"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err == 'batchboard config set: poll_interval: expected a number of seconds ≥ 1, got "fast"\n'
    )
    assert not paths.config_file().exists()


def test_api_key_is_refused_and_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "profiles.work.api_key_env", "sk-ant-api03-TOPSECRET"]) == 2
    captured = capsys.readouterr()
    assert "refusing to write what looks like an API key" in captured.err
    assert "TOPSECRET" not in captured.out + captured.err


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    main(["config", "set", "theme", "nord"])
    capsys.readouterr()
    assert main(["config", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["config_file"] == str(paths.config_file())
    assert document["config_file_exists"] is True
    assert document["data_dir"] == str(paths.data_dir())
    assert {"key": "theme", "value": "nord", "source": "file"} in document["settings"]
    assert document["problems"] == []


def test_problems_go_to_stderr_and_the_rest_still_shows(capsys: pytest.CaptureFixture[str]) -> None:
    file = paths.config_file()
    file.parent.mkdir(parents=True)
    file.write_text('poll_interval = "fast"\ntheme = "nord\\u001b[31m"\n')  # TOML escape
    assert main(["config"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f'batchboard: {file}: poll_interval: expected a number of seconds ≥ 1, got "fast"\n'
        f'batchboard: {file}: theme: unknown theme "nord\\u001b[31m"; did you mean "nord"?\n'
    )  # not one of Textual's themes, and said with its control character escaped
    assert "nord\\x1b[31m" in captured.out and "\x1b" not in captured.out  # control characters escaped


def test_unset(capsys: pytest.CaptureFixture[str]) -> None:
    main(["config", "set", "theme", "nord"])
    assert main(["config", "unset", "theme"]) == 0
    assert "theme removed" in capsys.readouterr().out
    assert main(["config", "unset", "nonsense"]) == 2
    assert 'unknown setting "nonsense"' in capsys.readouterr().err


def test_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out == f"{paths.config_file()}\n"


def test_config_imports_neither_sdk_nor_textual() -> None:
    """Textual only for a config that names a theme or a keymap entry (checked against the app's own);
    the SDK never."""
    probe = (
        "import sys\nfrom batchboard.cli import main\n"
        "main(['config', 'set', 'poll_interval', '3'])\nmain(['config'])\n"
        "heavy = lambda: ','.join(sorted({m.split('.')[0] for m in sys.modules}\n"
        "    & {'anthropic', 'textual', 'aiohttp'}))\n"
        "print('HEAVY:' + heavy())\n"
        "main(['config', 'set', 'theme', 'nord'])\nmain(['config'])\nprint('THEMED:' + heavy())"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "HEAVY:\n" in out and out.rstrip().endswith("THEMED:textual"), out
