"""`batchboard results BATCH_ID`: download a batch's results (once; later runs read the local copy) and write
them, or a subset, to a file, atomically."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from batchboard.commands._results_common import (
    CommandError,
    ProgressBar,
    add_profile_option,
    connection_from_args,
    fail,
    load_settings_quietly,
    open_index,
    printable,
)

if TYPE_CHECKING:
    from batchboard.core.results import IngestReport, ResultsIndex

ONLY_CHOICES = ("succeeded", "errored", "canceled", "expired")
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
    parser.add_argument("--only", choices=ONLY_CHOICES, help="write only results of this type")
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
                "count": g.count,
                "retryable": g.retryability.value,
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
            print(f"wrote {count:,} results to {printable(name)}", file=sys.stderr)
    return 0


def ensure_local(args: argparse.Namespace, index: ResultsIndex) -> IngestReport:
    """The batch's results in the index and on disk: from the local copy, else downloaded (with a bar)."""
    from batchboard.core.results import FileState, IngestCancelled, IngestError, ingest

    batch_id: str = args.batch_id
    settings = load_settings_quietly()
    try:
        if index.has_local_copy(batch_id):  # nothing to download (a lost items file is rebuilt from it)
            return ingest(batch_id, index, settings=settings)
        connection = connection_from_args(args, settings)
        from batchboard.core.client import make_sync_client

        bar = ProgressBar(f"downloading {printable(batch_id)}")
        with make_sync_client(connection) as client:
            try:
                report = ingest(batch_id, index, client=client, settings=settings, progress=bar)
            finally:
                bar.done()
    except (IngestError, IngestCancelled, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    except KeyboardInterrupt:
        raise CommandError("interrupted; nothing was kept", 130) from None
    if report.state is FileState.UNAVAILABLE:
        raise CommandError(f"results of {batch_id} are not available: {report.message}")
    return report


def export(args: argparse.Namespace, index: ResultsIndex) -> dict[str, int]:
    batch_id: str = args.batch_id
    if args.split:
        base = args.output or batch_id
        targets = {
            f"{base}.succeeded.jsonl": ("succeeded",),
            f"{base}.problems.jsonl": PROBLEM_TYPES,
        }
        return {
            name: _write_atomic(Path(name), index.lines_of(batch_id, types))
            for name, types in targets.items()
        }
    types = (args.only,) if args.only else None
    lines = index.lines_of(batch_id, types)
    if args.output == "-":
        count = 0
        out = sys.stdout.buffer
        for line in lines:
            out.write(line)
            count += 1
        out.flush()
        return {"-": count}
    name = args.output or f"{batch_id}.jsonl"
    return {name: _write_atomic(Path(name), lines)}


def _write_atomic(target: Path, lines: Iterable[bytes]) -> int:
    """Stream `lines` into a temp file beside `target`, then rename: a reader never sees half a file."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
    count = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for line in lines:
                out.write(line)
                count += 1
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return count
