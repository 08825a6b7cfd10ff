"""Layering is enforced, not hoped for: the import-linter contracts in pyproject.toml (the core never
imports Textual or Rich, the emulator shares nothing with the client but the wire format, the UI never
speaks HTTP, only core.gateway imports the SDK, commands and UI sit above the core, only the commands import
the App module) fail the suite when broken. What `--version` imports at run time is checked in
tests/test_cli.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Installed beside this interpreter by the [test] extra (import-linter).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
