"""`batchboard results BATCH_ID`: download a batch's results (once; later runs read the local copy) and write
them, or a subset, to a file, atomically."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from batchboard.commands._results_common import (
    CommandError,
    add_profile_option,
    ensure_local,
    fail,
    one_line,
    open_index,
    write_lines_atomic,
)
from batchboard.core.format import plural

if TYPE_CHECKING:
    from batchboard.core.results.index import ResultsIndex

ONLY_CHOICES = ("succeeded", "usable", "errored", "canceled", "expired", "truncated", "invalid", "refused")
PROBLEM_TYPES = ("errored", "canceled", "expired", "invalid")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "results",
        help="download a batch's results to a JSONL file (streamed, atomic; from the local copy if any)",
        description=(
            "Fetch a batch's results once (they never change), keep a copy in the data directory with an "
            "index for the TUI, and write them to FILE. Credentials: ANTHROPIC_API_KEY (and "
            "ANTHROPIC_BASE_URL), or --profile."
        ),
    )
    parser.add_argument("batch_id", metavar="BATCH_ID")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default: BATCH_ID.jsonl here; '-' for standard output). With --split, the "
        "base name: FILE.succeeded.jsonl and FILE.problems.jsonl",
    )
    parser.add_argument(
        "--only",
        choices=ONLY_CHOICES,
        help="write only results of this type: a result type as the API gives it (succeeded counts every "
        "answer), usable (succeeded, none of the next three), or a class of unusable answer: truncated "
        "(cut at max_tokens or the context window), invalid (does not parse or fit its JSON schema or "
        "tool), refused",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="write succeeded and problem (errored/canceled/expired) lines to two files",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary on standard output")
    parser.add_argument(
        "--job",
        action="store_true",
        help="the merged results of BATCH_ID and all its retries: per custom_id, the latest outcome",
    )
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.split and args.only:
        return fail(
            CommandError("--split and --only do not go together: --split already separates by type", 2)
        )
    if args.split and args.output == "-":
        return fail(CommandError("--split writes two files; give a base name with -o, not '-'", 2))
    try:
        index = open_index()
        if args.job:
            from batchboard.commands.job import export_job

            return export_job(args, index)
        report = ensure_local(args, index)
        written = export(args, index)
    except CommandError as error:
        return fail(error)
    if args.json:
        groups = [
            {
                "result_type": g.key.result_type,
                "error_type": g.key.error_type or None,
                "unusable": g.key.unusable or None,
                "count": g.count,
                "retryable": g.retryability.value,
                **({"first_problem": g.sample_message} if g.is_unusable and g.sample_message else {}),
            }
            for g in index.groups(args.batch_id)
        ]
        summary = {
            "batch_id": args.batch_id,
            "downloaded": report.downloaded,
            "local_copy": str(report.path) if report.path else None,
            "results": report.items,
            "bytes": report.bytes,
            "files": written,
            "groups": groups,
        }
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    elif args.output != "-":
        for name, count in written.items():
            print(f"wrote {plural(count, 'result')} to {one_line(name)}", file=sys.stderr)
    return 0


def export(args: argparse.Namespace, index: ResultsIndex) -> dict[str, int]:
    batch_id: str = args.batch_id
    if args.split:
        base = args.output or batch_id
        targets = {
            f"{base}.succeeded.jsonl": ("succeeded",),
            f"{base}.problems.jsonl": PROBLEM_TYPES,
        }
        return {
            name: write_lines_atomic(Path(name), index.lines_of(batch_id, types))
            for name, types in targets.items()
        }
    lines = index.lines_only(batch_id, args.only) if args.only else index.lines_of(batch_id)
    if args.output == "-":
        count = 0
        out = sys.stdout.buffer
        for line in lines:
            out.write(line)
            count += 1
        out.flush()
        return {"-": count}
    name = args.output or f"{batch_id}.jsonl"
    return {name: write_lines_atomic(Path(name), lines)}
