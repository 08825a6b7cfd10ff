"""`batchboard submit`, `retry` and `attach`: send a JSONL file as batches (validated, estimated, confirmed,
crash-safe), resend a batch's failed items, and link a file to a batch sent elsewhere so it can be retried.

If a file has any problem, nothing is sent: every problem is listed with its line and field, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    add_profile_option,
    connection_from_args,
    fail,
    load_settings_quietly,
    one_line,
    open_store,
)
from batchboard.commands.wait import add_wait_options
from batchboard.core.format import plural
from batchboard.core.fsio import not_a_file

if TYPE_CHECKING:
    from batchboard.core.config import Settings
    from batchboard.core.store import Store
    from batchboard.core.submit.estimate import Estimate
    from batchboard.core.submit.intents import Submission
    from batchboard.core.submit.jsonl import ModelTally, Report
    from batchboard.core.submit.recovery import Recovered

COUNT_CHOICES = ("auto", "sample", "all", "local")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="validate, estimate and send a JSONL file of requests as one or more batches",
        description=(
            'Each line of FILE is {"custom_id": ..., "params": {...}} as the Batch API takes it. The whole '
            "file is checked first and every problem is listed with its line and field; if there is any, "
            "nothing is sent. Then an estimate (tokens and cost at batch and standard price), a "
            "confirmation, and the send: over 100,000 requests or 256 MB the file becomes several "
            "batches under one label. "
            "The requests are stored locally first, so failures can be retried and a lost answer is "
            "reconciled, never sent twice."
        ),
    )
    submit.add_argument("file", metavar="FILE.jsonl", nargs="?", help="the requests, one JSON object a line")
    submit.add_argument("--label", help="a label for the batches it creates, shown in the dashboard")
    submit.add_argument("--dry-run", action="store_true", help="check and estimate only; send nothing")
    submit.add_argument("--yes", "-y", action="store_true", help="send without asking for confirmation")
    submit.add_argument("--json", action="store_true", help="print the report as JSON on standard output")
    submit.add_argument(
        "--wait", action="store_true", help="then wait until the batches end (exit status as for 'wait')"
    )
    add_wait_options(submit)
    _count_option(submit)
    submit.add_argument(
        "--resume",
        metavar="SUBMISSION_ID",
        help="send the chunks of an earlier submission that were not sent (after an error or a crash)",
    )
    add_profile_option(submit)
    submit.set_defaults(handler=run_submit)

    retry = subparsers.add_parser(
        "retry",
        help="send a batch's failed requests again, as a new batch that records its parent",
        description=(
            "Build a new batch from the locally stored original requests of BATCH_ID's failed items. By "
            "default: retryable errors (overloaded_error, api_error, rate_limit_error, timeout_error) and "
            "expired items. --types chooses: retryable, expired, canceled, errored (every error type), "
            "an error type by name (invalid_request_error is only retried when named: it needs a fix first), "
            "or succeeded answers that are unusable: truncated, invalid, refused. Truncated answers that "
            "stopped at max_tokens are resent with max_tokens doubled (or --max-tokens), capped at the "
            "model's output limit; the rest are resent exactly as they were sent."
        ),
    )
    retry.add_argument("batch_id", metavar="BATCH_ID")
    retry.add_argument("--types", metavar="T1,T2", help="which failed items (default: retryable,expired)")
    retry.add_argument(
        "--max-tokens",
        type=_positive_int,
        metavar="N",
        help="max_tokens for the truncated items (default: twice their own, up to the model's limit)",
    )
    retry.add_argument("--label", help="label for the new batch (default: the parent's label)")
    retry.add_argument("--dry-run", action="store_true", help="show what would be sent; send nothing")
    retry.add_argument("--yes", "-y", action="store_true", help="send without asking for confirmation")
    retry.add_argument("--json", action="store_true", help="print the report as JSON on standard output")
    _count_option(retry)
    add_profile_option(retry)
    retry.set_defaults(handler=run_retry)

    attach = subparsers.add_parser(
        "attach",
        help="link the JSONL file a batch was sent from (elsewhere), so its failures can be retried",
        description=(
            "Store the requests of FILE as the source of BATCH_ID, a batch submitted by another tool. "
            "custom_ids of the batch that the file lacks are reported (once its results are available)."
        ),
    )
    attach.add_argument("batch_id", metavar="BATCH_ID")
    attach.add_argument("file", metavar="FILE.jsonl")
    attach.add_argument("--json", action="store_true", help="print the report as JSON on standard output")
    add_profile_option(attach)
    attach.set_defaults(handler=run_attach)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of tokens above 0, got {text!r}")
    return value


def _count_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--count-tokens",
        choices=COUNT_CHOICES,
        default="auto",
        help="input tokens: count_tokens for a sample (auto, with a key) or all requests, or a local "
        "estimate of about 4 characters a token (auto, without a key)",
    )


# ------------------------------------------------------------------------------------------- helpers


def _say(args: argparse.Namespace, text: str = "") -> None:
    """Human output: stdout normally, stderr when stdout carries JSON."""
    print(one_line(text), file=sys.stderr if args.json else sys.stdout)


def _confirm(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandError("not sending without confirmation: run it in a terminal, or add --yes", EXIT_USAGE)
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CommandError("not sent", EXIT_FAILED)


def _api_failure(exc: Exception, what: str) -> CommandError | None:
    """A plain message for an API or network error (None for anything else): never a traceback."""
    from batchboard.core.gateway.errors import ApiError, sdk_error

    if isinstance(exc, ApiError):
        error = exc
    elif "anthropic" in sys.modules and isinstance(exc, sdk_error()):  # an SDK error means the SDK is loaded
        error = ApiError.from_sdk(exc)
    else:
        return None
    advice = error.failure.advice if error.failure is not None else ""
    todo = advice or "Check the connection and key, then run it again."
    return CommandError(
        f"{what} stopped: the API could not be reached or refused ({error.message}). {todo} Nothing was "
        "sent twice: a recorded submission carries on with 'batchboard submit --resume SUBMISSION_ID'."
    )


def _store_failure(exc: Exception, what: str) -> CommandError | None:
    """A plain message for the local store refusing a write (locked by another process, full, read-only),
    None for anything else. What was recorded before stays: the intent to send is written before a create,
    so a create whose answer could not be recorded is found by the next `--resume` or dashboard start."""
    import sqlite3

    from batchboard.core import paths

    if not isinstance(exc, sqlite3.Error):
        return None
    said = str(exc)
    if "locked" in said or "busy" in said:
        todo = (
            "Another batchboard process (a dashboard or another command) held it for too long: try again "
            "when it is done."
        )
    else:
        todo = "Check the disk (space, permissions, a read-only file system), then try again."
    return CommandError(
        f"{what} stopped: the local store ({paths.database_file()}) could not be written: {said}. {todo} "
        "Nothing was sent twice: a recorded submission carries on with 'batchboard submit --resume "
        "SUBMISSION_ID'."
    )


def _plainly(what: str, work: Callable[[], int]) -> int:
    """Run a command's work; a CommandError, an API or a network error, or the local store refusing a
    write, ends it with a plain message."""
    try:
        return work()
    except CommandError as error:
        return fail(error)
    except Exception as exc:
        if (plain := _api_failure(exc, what) or _store_failure(exc, what)) is None:
            raise
        return fail(plain)


def _validation_json(report: Report) -> dict[str, Any]:
    return {
        "file": report.file,
        "ok": report.ok,
        "requests": report.requests,
        "errors": report.errors,
        "warnings": report.warnings,
        "problems": [
            {"line": p.line, "field": p.field, "severity": p.severity, "message": p.message, "text": str(p)}
            for p in report.problems
        ],
        "problems_not_listed": report.omitted,
        "batches": [
            {"lines": [c.first_line, c.last_line], "requests": c.requests, "bytes": c.body_bytes}
            for c in report.chunks
        ],
    }


def _print_problems(args: argparse.Namespace, report: Report) -> None:
    for problem in report.problems:
        print(one_line(str(problem)), file=sys.stderr)
    if report.omitted:
        print(f"... and {plural(report.omitted, 'more problem')} not listed", file=sys.stderr)


def _has_key(args: argparse.Namespace, settings: Settings) -> bool:
    try:
        connection_from_args(args, settings)
    except CommandError:
        return False
    return True


async def _estimate(
    args: argparse.Namespace,
    settings: Settings,
    tallies: dict[str, ModelTally],
    requests: Callable[[], Iterator[dict[str, Any]]],
) -> Estimate:
    from batchboard.core.submit.estimate import counted_estimate, local_estimate

    mode = args.count_tokens
    if mode == "auto":
        mode = "sample" if _has_key(args, settings) else "local"
    if mode == "local":
        return local_estimate(tallies, settings)
    from batchboard.core.gateway.client import make_client

    async with make_client(connection_from_args(args, settings)) as client:
        return await counted_estimate(tallies, requests, client, mode=mode, settings=settings)


async def _send(
    args: argparse.Namespace,
    settings: Settings,
    store: Store,
    submission_id: str,
    result: dict[str, Any],
    *,
    resume: bool = False,
) -> Submission:
    """Reconcile and verify what earlier runs left open (saying each outcome), let the user decide on this
    submission's unresolved chunks (`--resume`), then send what is pending. On a failure the report (with
    `--json`) still says where every chunk stands."""
    from batchboard.core.gateway.client import make_client
    from batchboard.core.submit.intents import SubmitError, Submitter, load_submission, open_submissions

    async with make_client(connection_from_args(args, settings)) as client:
        submitter = Submitter(store, client, on_wait=_countdown(args))
        outcomes = await submitter.reconcile()  # earlier runs' lost answers first
        outcomes += await asyncio.to_thread(_verify, args, settings, store)
        result["recovery"] = [
            {
                "submission": o.submission_id,
                "batch": o.chunk + 1,
                "outcome": o.outcome,
                "batch_id": o.batch_id,
                "candidates": list(o.candidates),
                "message": o.message,
            }
            for o in outcomes
        ]
        for outcome in outcomes:
            _say(args, outcome.message)
        for earlier in open_submissions(store):
            if earlier.id != submission_id:
                waiting = sum(1 for c in earlier.chunks if c.state != "created")
                _say(
                    args,
                    f"note: earlier submission {earlier.id} has {plural(waiting, 'batch')} not created; "
                    f"'batchboard submit --resume {earlier.id}' sends {'it' if waiting == 1 else 'them'} (it "
                    "asks first where an answer was lost)",
                )
        if resume:
            try:
                _decide(args, store, submission_id)
            except CommandError:  # could not ask: with --json, still say where every chunk stands
                if args.json:
                    result["submission"] = _submission_json(load_submission(store, submission_id))
                    print(json.dumps(result, indent=2, ensure_ascii=False))
                raise

        def announce(chunk: Any) -> None:
            _say(args, f"created {chunk.batch_id} ({plural(chunk.request_count, 'request')})")

        try:
            return await submitter.send(submission_id, on_chunk=announce)
        except SubmitError as error:
            result["submission"] = _submission_json(load_submission(store, submission_id))
            if args.json:
                print(json.dumps(result, indent=2, ensure_ascii=False))
            raise CommandError(str(error)) from error


def _decide(args: argparse.Namespace, store: Store, submission_id: str) -> None:
    """`--resume`: each chunk whose batch could not be identified is sent again only once the user says so
    (or gave --yes); otherwise it is left as it is, to decide later."""
    from batchboard.core.submit.intents import UNRESOLVED, load_submission
    from batchboard.core.submit.recovery import mark_for_resend

    submission = load_submission(store, submission_id)
    for chunk in submission.chunks:
        if chunk.state != UNRESOLVED:
            continue
        where = f"batch {chunk.chunk + 1} of {len(submission.chunks)}"
        if chunk.candidates:
            _say(args, f"{where}: batches that could be it (not taken): {', '.join(chunk.candidates)}")
        if _ask(
            args,
            f"Send {where} of submission {submission_id} again ({plural(chunk.request_count, 'request')})?",
        ):
            mark_for_resend(store, submission_id, chunk.chunk)
        else:
            _say(args, f"{where} left as it is; 'batchboard submit --resume {submission_id}' asks again")


def _ask(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError(
            "not sending again without confirmation: run it in a terminal, or add --yes", EXIT_USAGE
        )
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _verify(args: argparse.Namespace, settings: Settings, store: Store) -> list[Recovered]:
    """Recovered batches are checked against their results: fetched for this when the batch has ended.
    Blocking (downloads): run in a thread."""
    from batchboard.core.gateway.client import make_sync_client
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.results.ingest import IngestError, ingest
    from batchboard.core.submit.recovery import Recovered, unverified_batches, verify

    waiting = unverified_batches(store)
    if not waiting:
        return []
    index = ResultsIndex(store)
    notes: list[Recovered] = []
    with make_sync_client(connection_from_args(args, settings)) as client:
        for batch_id in waiting:
            try:
                ingest(batch_id, index, client=client, settings=settings)
            except IngestError as error:
                row = store.query(
                    "SELECT submission_id, chunk FROM submission_chunks WHERE batch_id = ?", (batch_id,)
                )
                sid, chunk = row[0]
                notes.append(
                    Recovered(
                        sid,
                        chunk,
                        "unverified",
                        f"{batch_id} (submission {sid}): recovered, unverified: {error}. Its custom_ids are "
                        f"checked once its results are here ('batchboard submit --resume {sid}' or the "
                        "dashboard).",
                        batch_id,
                    )
                )
    return verify(store, index, waiting) + notes


def _countdown(args: argparse.Namespace) -> Callable[[int], None]:
    """Says on stderr how long until a rate-limited create is sent again (a live countdown on a terminal,
    one line otherwise)."""
    live = sys.stderr.isatty()
    said = False

    def show(seconds: int) -> None:
        nonlocal said
        if seconds == 0:
            if live and said:
                print(file=sys.stderr)
            said = False
            return
        text = f"rate limited (HTTP 429): nothing was created; sending again in {seconds} s"
        if live:
            print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)
        elif not said:
            print(text, file=sys.stderr, flush=True)
        said = True

    return show


def _submission_json(submission: Submission) -> dict[str, Any]:
    from batchboard.core.submit.recovery import recovered_label

    return {
        "id": submission.id,
        "kind": submission.kind,
        "label": submission.label,
        "parent_batch_id": submission.parent_batch_id,
        "requests": submission.request_count,
        "batches": [
            {
                "batch_id": c.batch_id,
                "requests": c.request_count,
                "state": c.state,
                "resolved_by": c.resolved_by,
                "recovery": c.recovery,
                "recovered": recovered_label(c),
                "candidates": list(c.candidates),
                "duplicate_batch_id": c.duplicate_batch_id,
                "message": c.error,
            }
            for c in submission.chunks
        ],
    }


# -------------------------------------------------------------------------------------------- submit


def run_submit(args: argparse.Namespace) -> int:
    def work() -> int:
        if not args.resume:
            if not args.file:
                raise CommandError("give a FILE.jsonl to submit (or --resume SUBMISSION_ID)", EXIT_USAGE)
            if (problem := not_a_file(Path(args.file))) is not None:
                raise CommandError(f"{args.file}: {problem}", EXIT_USAGE)
        return asyncio.run(_submit(args))

    return _plainly("submit", work)


async def _submit(args: argparse.Namespace) -> int:
    from batchboard.core.submit.estimate import params_of
    from batchboard.core.submit.intents import prepare_file
    from batchboard.core.submit.jsonl import iter_chunk
    from batchboard.core.submit.validate import validate_file

    settings = load_settings_quietly()
    if args.resume:
        resumed: dict[str, Any] = {}
        with open_store() as store:
            submission = await _send(args, settings, store, args.resume, resumed, resume=True)
        resumed["submission"] = _submission_json(submission)
        return await _finish_or_wait(args, settings, resumed, submission)
    path = Path(args.file)

    from batchboard.core.submit.rules import accepted_models

    models = accepted_models(settings)
    report = await asyncio.to_thread(validate_file, path, display_name=args.file, known_models=models)
    result: dict[str, Any] = {"validation": _validation_json(report)}
    _print_problems(args, report)
    if not report.ok:
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        raise CommandError(
            f"{args.file}: {plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}; "
            "nothing was sent"
        )
    chunks = report.chunks
    _say(
        args,
        f"{args.file}: {plural(report.requests, 'request')} OK"
        + (f" ({plural(report.warnings, 'warning')})" if report.warnings else "")
        + (f", sent as {len(chunks)} batches" if len(chunks) > 1 else ""),
    )

    def requests() -> Iterator[dict[str, Any]]:
        for chunk in chunks:
            yield from params_of(iter_chunk(path, chunk))

    question = f"Send {plural(report.requests, 'request')} as {plural(len(chunks), 'batch')}?"
    if not await _estimate_and_confirm(args, settings, report.models, requests, result, question):
        return 0
    with open_store() as store:
        submission = await asyncio.to_thread(prepare_file, store, report, label=args.label)
        submission = await _send(args, settings, store, submission.id, result)
    result["submission"] = _submission_json(submission)
    return await _finish_or_wait(args, settings, result, submission)


async def _finish_or_wait(
    args: argparse.Namespace, settings: Settings, result: dict[str, Any], submission: Submission
) -> int:
    """`_finish`; with --wait, then wait for every batch sent (`batchboard wait`'s exit status)."""
    if not args.wait:
        return _finish(args, result, submission)
    from batchboard.commands.wait import outcome_json, print_outcome, wait_for_batches

    _say(args, f"waiting for {', '.join(submission.batch_ids)} to end")
    waited = await wait_for_batches(args, settings, submission.batch_ids)
    if args.json:
        result["wait"] = outcome_json(waited, settings)
    _finish(args, result, submission)
    if not args.json:
        print_outcome(args, waited, settings)
    return waited.exit_status


async def _estimate_and_confirm(
    args: argparse.Namespace,
    settings: Settings,
    tallies: dict[str, ModelTally],
    requests: Callable[[], Iterator[dict[str, Any]]],
    result: dict[str, Any],
    question: str,
) -> bool:
    """Print the estimate (into `result` too); False after a dry run (nothing to send), True once the user
    said yes (or gave --yes). A refusal raises CommandError."""
    from batchboard.core.submit.estimate import format_estimate

    estimate = await _estimate(args, settings, tallies, requests)
    result["estimate"] = estimate.as_dict()
    for line in format_estimate(estimate):
        _say(args, line)
    if args.dry_run:
        _say(args, "dry run: nothing was sent")
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        return False
    _confirm(args, question)
    return True


def _finish(args: argparse.Namespace, result: dict[str, Any], submission: Submission) -> int:
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    _say(args, f"submission {submission.id}: {', '.join(submission.batch_ids)}")
    return 0


# --------------------------------------------------------------------------------------------- retry


def run_retry(args: argparse.Namespace) -> int:
    return _plainly("retry", lambda: asyncio.run(_retry(args)))


async def _retry(args: argparse.Namespace) -> int:
    import orjson

    from batchboard.commands._results_common import ensure_local
    from batchboard.core.jobs import Selection, plan_retry
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.submit.intents import SubmitError, prepare_requests
    from batchboard.core.submit.rules import tally_params

    settings = load_settings_quietly()
    try:
        selection = Selection.parse(args.types)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    with open_store() as store:
        await asyncio.to_thread(ensure_local, args, ResultsIndex(store))
        try:
            plan = plan_retry(store, args.batch_id, selection, max_tokens=args.max_tokens)
        except SubmitError as error:
            raise CommandError(str(error)) from error
        result: dict[str, Any] = {
            "batch_id": args.batch_id,
            "chosen": dict(plan.groups),
            "left_out": dict(plan.left_out),
            "missing_requests": plan.missing,
            "max_tokens_raised": len(plan.raised),
            "notes": plan.notes(),
        }
        for group, count in sorted(plan.groups.items()):
            _say(args, f"retrying {count:,} {group}")
        for note in plan.notes():
            _say(args, note)
        for group, count in sorted(plan.left_out.items()):
            _say(args, f"leaving out {count:,} {group} (add it to --types to include it)")
        counts = plan.counts_line()
        if counts is not None:
            link = "another file" if plan.source_kind == "attach" else "its source file"
            _say(args, f"{counts}, for example {plan.missing[0]}")
            _say(args, f"'batchboard attach {args.batch_id} FILE' links {link}")
        if not plan.requests:
            if args.json:
                print(json.dumps(result, indent=2, ensure_ascii=False))
            _say(args, "nothing to retry")
            return 0 if not plan.missing else EXIT_FAILED

        def requests() -> Iterator[dict[str, Any]]:
            for _, params in plan.requests:
                yield orjson.loads(params)

        tallies = await asyncio.to_thread(tally_params, requests())  # parses every request: off the loop
        if args.dry_run:  # each request exactly as it would be sent
            result["requests"] = [
                {"custom_id": cid, "params": orjson.loads(params)} for cid, params in plan.requests
            ]
        question = f"Send {plural(len(plan.requests), 'request')} again as a retry of {args.batch_id}?"
        if not await _estimate_and_confirm(args, settings, tallies, requests, result, question):
            return 0
        label = args.label or store.label(args.batch_id)
        submission = prepare_requests(store, plan.requests, parent_batch_id=args.batch_id, label=label)
        submission = await _send(args, settings, store, submission.id, result)
    result["submission"] = _submission_json(submission)
    return _finish(args, result, submission)


# -------------------------------------------------------------------------------------------- attach


def run_attach(args: argparse.Namespace) -> int:
    return _plainly("attach", lambda: _attach(args))


def _attach(args: argparse.Namespace) -> int:
    from batchboard.commands._results_common import ensure_local
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.results.ingest import IngestError
    from batchboard.core.submit.attach import attach_report
    from batchboard.core.submit.intents import SubmitError
    from batchboard.core.submit.validate import validate_file

    path = Path(args.file)
    if (problem := not_a_file(path)) is not None:
        raise CommandError(f"{args.file}: {problem}", EXIT_USAGE)
    report = validate_file(path, display_name=args.file)
    _print_problems(args, report)
    if not report.ok:
        raise CommandError(f"{args.file}: {plural(report.errors, 'error')}; nothing was attached")
    with open_store() as store:
        try:
            ensure_local(args, ResultsIndex(store))  # the results, to compare the file's custom_ids with
        except (CommandError, IngestError) as error:
            _say(args, f"results not available yet ({error}); custom_ids will be checked once they are")
        try:
            # What the TUI's `a` does: refuses a file that shares no custom_id with the batch's results.
            attached = attach_report(store, args.batch_id, report)
        except SubmitError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"{args.file}: {error.strerror or error}") from error
    result: dict[str, Any] = {
        "batch_id": args.batch_id,
        "file": args.file,
        "requests": attached.requests,
        "submission": attached.submission_id,
    }
    if attached.compared:
        missing, extra = attached.missing, len(attached.extra)
        result["missing_from_file"] = missing
        result["not_in_batch"] = extra
        if missing:
            _say(
                args,
                f"{plural(len(missing), 'custom_id')} of {args.batch_id} "
                f"{'is' if len(missing) == 1 else 'are'} not in {args.file}, for example:",
            )
            for cid in missing[:10]:
                _say(args, f"  {cid}")
            _say(args, "their failures cannot be retried")
        if extra:
            _say(
                args,
                f"{plural(extra, 'request')} in {args.file} {'is' if extra == 1 else 'are'} "
                f"not in {args.batch_id}",
            )
    if attached.outputs is not None and attached.outputs.checked:
        checked = attached.outputs
        result["outputs_checked"] = checked.checked
        result["invalid_outputs"] = checked.invalid
        _say(
            args,
            f"checked {plural(checked.checked, 'answer')} against their JSON schema or forced tool: "
            f"{checked.invalid:,} invalid ('batchboard results {args.batch_id} --only invalid')",
        )
    _say(args, f"attached {args.file} to {args.batch_id}: {attached.linked_text()}")
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
