"""The `batchboard` command line: global flags, subcommands, and the TUI as the default action.

Start-up matters here: `--version` and `--help` must import neither the SDK nor Textual, so every
subcommand lives in `batchboard.commands` and imports what it needs only when it runs; opening the
dashboard does not even register the subcommands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from batchboard import __version__


def _top_level_parser(*, add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchboard",
        description=(
            "A keyboard-driven terminal dashboard for Anthropic's Message Batches API. "
            "With no subcommand, opens the dashboard."
        ),
        epilog="Run 'batchboard COMMAND --help' for a subcommand's options.",
        add_help=add_help,
        exit_on_error=add_help,
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
    return parser


def build_parser() -> argparse.ArgumentParser:
    from batchboard.commands import all_commands

    parser = _top_level_parser()
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in all_commands():
        command.register(subparsers)
    return parser


def dashboard_arguments(argv: Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments when `argv` only opens the dashboard (global flags, no subcommand, no help),
    else None. Parsed without registering every subcommand, which the TUI's start-up should not pay for;
    anything else (a subcommand, --help, an error) goes to the full parser."""
    try:
        args, rest = _top_level_parser(add_help=False).parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    if rest:
        return None
    args.command = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    dashboard_args = dashboard_arguments(arguments)
    if dashboard_args is not None:
        from batchboard.commands.dashboard import run_dashboard

        return run_dashboard(dashboard_args)
    parser = build_parser()
    args = parser.parse_args(arguments)
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
