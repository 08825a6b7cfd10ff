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
    # Targets are judged on the real sizes (bench/README.md); at these sizes a loaded machine may miss them,
    # so this only checks that every stage ran to its report.
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "vs plain file" in result.stdout and "peak RSS" in result.stdout
    assert "stream: configured 300 tok/s, measured" in result.stdout
