"""The `batchboard` command line: global flags, subcommands, and the TUI as the default action.

Start-up matters here: `--version` and `--help` must import neither the SDK nor Textual, so every
subcommand lives in `batchboard.commands` and imports what it needs only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from batchboard import __version__
from batchboard.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchboard",
        description=(
            "A keyboard-driven terminal dashboard for Anthropic's Message Batches API. "
            "With no subcommand, opens the dashboard."
        ),
        epilog="Run 'batchboard COMMAND --help' for a subcommand's options.",
    )
    parser.add_argument("--version", action="version", version=f"batchboard {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the dashboard on the built-in API emulator with a seeded demo world (no key, no network)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="use a profile from the config file (a profile names the environment variable holding its key)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        from batchboard.commands.dashboard import run_dashboard

        return run_dashboard(args)
    try:
        result: int = handler(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
