"""`batchboard wait BATCH_ID [--timeout S] [--json]`: block until batches end; the exit status says how
(0 every request succeeded, 1 some errored, 2 some canceled or expired, or the wait timed out)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import (
    EXIT_USAGE,
    CommandError,
    add_profile_option,
    connection_from_args,
    fail,
    load_settings_quietly,
    one_line,
)

if TYPE_CHECKING:
    from batchboard.core.config import Settings
    from batchboard.core.gateway.errors import ApiError
    from batchboard.core.models import Batch
    from batchboard.core.wait import WaitResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "wait",
        help="wait until batches end; the exit status says how they ended",
        description=(
            "Poll every poll_interval seconds until each BATCH_ID has ended, then print how each ended. "
            "Exit status: 0 every request succeeded, 1 some request errored (or an id is unknown), 2 some "
            "request was canceled or expired, or --timeout passed first. API errors are retried, waiting "
            "longer each time. A progress line goes to stderr when it is a terminal."
        ),
    )
    parser.add_argument("batch_ids", metavar="BATCH_ID", nargs="+")
    add_wait_options(parser)
    parser.add_argument("--json", action="store_true", help="print the batches' final states as JSON")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="give up after this long (exit status 2)"
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings_quietly()
    try:
        result = asyncio.run(wait_for_batches(args, settings, list(args.batch_ids)))
    except CommandError as error:
        return fail(error)
    print_outcome(args, result, settings)
    return result.exit_status


async def wait_for_batches(args: argparse.Namespace, settings: Settings, batch_ids: list[str]) -> WaitResult:
    """Wait for `batch_ids` (credentials from `args`, `args.timeout`). Also the end of `submit --wait`."""
    from batchboard.core.clock import SystemClock
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import make_client
    from batchboard.core.wait import UnknownBatch, wait_for

    if args.timeout is not None and args.timeout < 0:
        raise CommandError("--timeout must be 0 or more seconds", EXIT_USAGE)
    api = BatchApi(make_client(connection_from_args(args, settings)))
    progress = _Progress()
    try:
        result = await wait_for(
            api,
            batch_ids,
            interval=settings.poll_interval,
            clock=SystemClock(),
            give_up_after=args.timeout,
            on_round=progress.show,
        )
    except UnknownBatch as exc:
        raise CommandError(str(exc)) from exc
    finally:
        progress.done()
        await api.close()
    return result


def outcome_json(result: WaitResult, settings: Settings) -> dict[str, Any]:
    """What `--json` prints: each batch as `list --json` shows it (its label, its cost when its results are
    here), whether the wait timed out, the exit status."""
    from batchboard.commands.batches import as_json, local_state

    labels, cost = local_state(settings)
    return {
        "batches": [as_json(b, cost(b.id), labels.get(b.id)) for b in result.batches],
        "timed_out": result.timed_out,
        "exit_status": result.exit_status,
    }


def print_outcome(args: argparse.Namespace, result: WaitResult, settings: Settings) -> None:
    """How the batches ended: one line each on stdout (or the JSON document with --json)."""
    if args.json:
        print(json.dumps(outcome_json(result, settings), indent=2, ensure_ascii=False))
    else:
        for batch in result.batches:
            print(_line(batch))
    if result.timed_out:
        print(f"batchboard: gave up waiting after {args.timeout:g} s", file=sys.stderr)


def _line(batch: Batch) -> str:
    c = batch.counts
    counts = (
        f"{c.succeeded:,} succeeded, {c.errored:,} errored, {c.canceled:,} canceled, {c.expired:,} expired"
    )
    if batch.is_active:
        counts = f"{c.processing:,} processing, " + counts
    return f"{one_line(batch.id)}: {batch.processing_status}, {batch.outcome.value} ({counts})"


class _Progress:
    """One line on stderr, redrawn each round, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.shown = False
        self.tty = sys.stderr.isatty()

    def show(self, batches: list[Batch], error: ApiError | None) -> None:
        if not self.tty:
            return
        from batchboard.core.format import plural

        done = sum(b.counts.total - b.counts.processing for b in batches)
        total = sum(b.counts.total for b in batches)
        ended = sum(b.is_ended for b in batches)
        text = f"waiting: {ended} of {len(batches)} ended, {done:,} of {plural(total, 'request')} done"
        if error is not None:
            text += f" · {one_line(error.message)} (trying again)"
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
