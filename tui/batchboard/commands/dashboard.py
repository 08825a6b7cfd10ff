"""The default action: open the dashboard TUI (the dashboard issue fills this in)."""

from __future__ import annotations

import argparse
import sys


def run_dashboard(args: argparse.Namespace) -> int:
    print(
        "batchboard: the dashboard is not built yet. Try 'batchboard emulator' or 'batchboard --help'.",
        file=sys.stderr,
    )
    return 2
