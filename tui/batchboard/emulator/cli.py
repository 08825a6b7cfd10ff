"""`batchboard emulator`: serve the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys

from batchboard.emulator.emulator import Emulator
from batchboard.emulator.settings import EmulatorSettings


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    return EmulatorSettings(
        seed=args.seed,
        demo=not args.empty,
        batch_duration=args.batch_duration,
        error_rate=args.error_rate,
        refusal_rate=args.refusal_rate,
        invalid_output_rate=args.invalid_output_rate,
        ttft=args.ttft,
        tokens_per_second=args.tokens_per_second,
    )


async def _serve(emulator: Emulator, host: str, port: int) -> None:
    base_url = await emulator.start(host, port)
    print(f"batchboard emulator listening on {base_url}", flush=True)
    print(
        f"  export ANTHROPIC_BASE_URL={base_url} ANTHROPIC_API_KEY=sk-ant-emulator   (Ctrl-C to stop)",
        flush=True,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await emulator.stop()


def serve_forever(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        print(f"batchboard emulator: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(settings)
    try:
        asyncio.run(_serve(emulator, args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE or "address already in use" in str(exc).lower():
            print(
                f"batchboard emulator: port {args.port} on {args.host} is already in use; "
                "choose another with --port (0 picks a free one)",
                file=sys.stderr,
            )
        else:
            print(f"batchboard emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print("batchboard emulator stopped", flush=True)
    return 0
