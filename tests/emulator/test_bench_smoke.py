"""The emulator benchmark still runs end to end (tiny sizes; the real figures are in bench/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_emulator.py"


def test_bench_runs_with_tiny_sizes() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "300", "--rates", "300", "--stream-seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio" in result.stdout and "peak RSS" in result.stdout and "ok" in result.stdout
