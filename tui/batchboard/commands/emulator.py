"""`batchboard emulator`: serve the local Anthropic API emulator until interrupted."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run a local emulator of the Anthropic API (batches, messages, streaming)",
        description=(
            "Serve a local emulator of the Anthropic API on loopback. Point any SDK script at it with "
            "ANTHROPIC_BASE_URL=http://HOST:PORT and any ANTHROPIC_API_KEY."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=4010, help="port to bind, 0 for any free port (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the demo world and outcomes (default: %(default)s)"
    )
    parser.add_argument(
        "--empty", action="store_true", help="start with no batches instead of the demo world"
    )
    parser.add_argument(
        "--batch-duration",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long a new batch takes from create to end (default: %(default)s)",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of batch requests that fail with retryable errors (default: %(default)s)",
    )
    parser.add_argument(
        "--refusal-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of answers refused (stop_reason refusal) (default: %(default)s)",
    )
    parser.add_argument(
        "--invalid-output-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of answers to a JSON schema or forced tool that break it (default: %(default)s)",
    )
    parser.add_argument(
        "--ttft",
        type=float,
        default=0.4,
        metavar="SECONDS",
        help="streaming time to first token (default: %(default)s)",
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=60.0,
        metavar="N",
        help="streaming output rate (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from batchboard.emulator.cli import serve_forever

    return serve_forever(args)
