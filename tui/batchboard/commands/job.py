"""`batchboard job BATCH_ID`: a batch and all its retries as one job (latest outcome per custom_id, totals,
cost across the chain); also `batchboard results BATCH_ID --job`, which exports the merged results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import CommandError, add_profile_option, fail, one_line, open_index
from batchboard.core.format import plural

if TYPE_CHECKING:
    from batchboard.core.jobs import Job
    from batchboard.core.results.index import ResultsIndex


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "job",
        help="show a batch and its retries as one job: latest outcome per request, totals, cost",
        description=(
            "Follow BATCH_ID to the batch it retried (if any) and to every retry of it, download results "
            "that are missing locally, and count each custom_id once, by its latest outcome. "
            "'batchboard results BATCH_ID --job' writes the merged results."
        ),
    )
    parser.add_argument("batch_id", metavar="BATCH_ID")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def load_job(args: argparse.Namespace, index: ResultsIndex) -> tuple[Job, list[str]]:
    """The job of `args.batch_id`, downloading the results of members that have ended; returns the job and
    a note per member whose results are not available (still running, say). An id the API does not know
    (and that is not here) is an error, not an empty job."""
    from batchboard.commands._results_common import BatchNotFound, ensure_local
    from batchboard.core.jobs import chain, job

    notes = []
    for member in chain(index.store, args.batch_id):
        if index.is_complete(member):
            continue
        try:
            ensure_local(argparse.Namespace(**{**vars(args), "batch_id": member}), index)
        except CommandError as error:
            if isinstance(error, BatchNotFound) and member == args.batch_id:
                raise
            notes.append(f"{member}: {error}")
    return job(index.store, args.batch_id), notes


def summary(current: Job) -> dict[str, Any]:
    return {
        "batches": current.batch_ids,
        "attempts": current.attempts,
        "requests": len(current.latest),
        "latest": dict(current.totals),
        "done": current.done,
        "without_results": current.without_results,
        "cost_batch_usd": round(current.cost_batch, 6),
        "cost_standard_usd": round(current.cost_standard, 6),
    }


def run(args: argparse.Namespace) -> int:
    from batchboard.core.jobs import parent_of

    try:
        index = open_index()
        current, notes = load_job(args, index)
    except CommandError as error:
        return fail(error)
    if args.json:
        print(json.dumps({**summary(current), "notes": notes}, indent=2, ensure_ascii=False))
        return 0
    for member in current.batch_ids:
        parent = parent_of(index.store, member)
        print(f"{member}" + (f"  (retry of {parent})" if parent else "  (original)"))
    totals = ", ".join(f"{count:,} {kind}" for kind, count in current.totals.most_common())
    print(f"{plural(len(current.latest), 'request')}, latest outcomes: {totals or 'none yet'}")
    print(f"done (a usable answer): {current.done:,} of {len(current.latest):,}")
    print(
        f"cost across the chain: ${current.cost_batch:,.4f} at batch price "
        f"(${current.cost_standard:,.4f} at standard price)"
    )
    for note in notes:
        print(f"not counted: {one_line(note)}")
    return 0


def export_job(args: argparse.Namespace, index: ResultsIndex) -> int:
    """`results BATCH_ID --job`: one line per custom_id, from the batch holding its latest outcome."""
    from batchboard.commands._results_common import write_lines_atomic
    from batchboard.core.jobs import merged_lines

    if args.split:
        raise CommandError("--job writes one merged file; use --only to pick a result type", 2)
    current, notes = load_job(args, index)
    lines = merged_lines(index.store, current)
    if args.only:
        wanted = {cid for cid, latest in current.latest.items() if _is_kind(latest, args.only)}
        lines = (line for line in lines if _custom_id(line) in wanted)
    if args.output == "-":
        count = sum(sys.stdout.buffer.write(line) > 0 for line in lines)
        sys.stdout.buffer.flush()
    else:
        name = args.output or f"{args.batch_id}.job.jsonl"
        count = write_lines_atomic(Path(name), lines)
        if not args.json:
            print(f"wrote {plural(count, 'merged result')} to {one_line(name)}", file=sys.stderr)
    for note in notes:
        print(f"batchboard: not included: {one_line(note)}", file=sys.stderr)
    if args.json:
        print(
            json.dumps({**summary(current), "written": count, "notes": notes}, indent=2, ensure_ascii=False)
        )
    return 0


def _is_kind(latest: tuple[str, str, str, str], only: str) -> bool:
    from batchboard.core.results.index import matches_only

    _, result_type, _, unusable = latest
    return matches_only(only, result_type, unusable)


def _custom_id(line: bytes) -> str | None:
    import orjson

    try:
        value = orjson.loads(line).get("custom_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None
