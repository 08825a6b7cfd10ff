"""The `batchboard` command line: global flags, subcommands, and the TUI as the default action.

Start-up matters here: `--version` and `--help` must import neither the SDK nor Textual, so every
subcommand lives in `batchboard.commands` and imports what it needs only when it runs; opening the
dashboard does not even register the subcommands.
"""

from __future__ import annotations

import argparse
import os
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


#: The exit status after the reader of standard output went away (`batchboard list | head -3`): what a shell
#: reports for a program stopped by SIGPIPE (128 + 13), so `set -o pipefail` sees it as `yes | head` does.
EXIT_CLOSED_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line. A closed pipe on standard output ends any command quietly: no traceback, the
    rest of the output dropped, status EXIT_CLOSED_PIPE. SIGPIPE itself stays ignored (Python's default):
    restoring it would also kill the process on a write to a network socket the API closed, where the SDK
    expects an error it can retry."""
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # what is still buffered goes now, so a closed pipe shows here and not at exit
    except BrokenPipeError:
        return _closed_pipe()
    except SystemExit:
        try:
            sys.stdout.flush()  # --help's text, say, when the pipe closed before it was read
        except BrokenPipeError:
            _closed_pipe()
            raise SystemExit(EXIT_CLOSED_PIPE) from None
        raise
    return code


def _run(arguments: list[str]) -> int:
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


def _closed_pipe() -> int:
    """Standard output's reader is gone: point the stream at the null device, so the flush at exit (of what
    is still buffered) cannot fail again and print "Exception ignored" on stderr. Standard error too, when
    it was the same pipe (`2>&1 | head`)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        _redirect(sys.stdout, devnull)
        try:
            sys.stderr.flush()
        except BrokenPipeError:
            _redirect(sys.stderr, devnull)
    finally:
        os.close(devnull)
    return EXIT_CLOSED_PIPE


def _redirect(stream: object, target: int) -> None:
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # a stream without a file (tests capture into memory)
        return
    os.dup2(target, fd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
