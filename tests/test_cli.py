"""The CLI's cheap paths: --version and --help import neither the SDK nor Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

from batchboard import __version__
from batchboard.cli import build_parser, main

PROBE = """
import sys
from batchboard.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('anthropic', 'textual', 'aiohttp'))
print('HEAVY:' + ','.join(heavy))
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["emulator", "--help"]])
def test_cheap_paths_import_neither_sdk_nor_textual(argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY:\n" in out or out.rstrip().endswith("HEAVY:"), out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"batchboard {__version__}"


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert subparsers.choices, "no subcommands registered"
    for name in subparsers.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert name in capsys.readouterr().out


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "batchboard", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"batchboard {__version__}"
