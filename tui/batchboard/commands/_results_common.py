"""Shared by `results`, `list` and `cost`: credentials from the environment or a profile, the local index,
a progress bar on stderr, and printing untrusted text safely. Imports nothing heavy at module level."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from batchboard.core.config import Settings
    from batchboard.core.gateway.client import Anthropic, Connection
    from batchboard.core.models import Batch
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.results.ingest import IngestProgress, IngestReport
    from batchboard.core.store import Store

EXIT_USAGE = 2
EXIT_FAILED = 1


class CommandError(Exception):
    """A failure to report as `batchboard: <message>` with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class BatchNotFound(CommandError):
    """The API has no batch with that id (HTTP 404): the message says so plainly, exit status 1."""


def one_line(text: str) -> str:
    """Text from the API or a file, safe on one line of the CLI's output: `format.printable(text,
    one_line=True)`, the one printable() (control characters, newlines and tabs as `\\xNN`)."""
    from batchboard.core.format import printable

    return printable(text, one_line=True)


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """`--profile NAME` after the subcommand too (`batchboard list --profile x`), as before it. SUPPRESS:
    when not given here, the global option's value stays."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="use a profile from the config file (same as 'batchboard --profile NAME COMMAND')",
    )


def fail(error: CommandError) -> int:
    """Print `batchboard: <message>`; when an API call gave up under it, add what to do (the advice of
    `gateway.errors.classify`: the service is failing, try again in a minute, the status page...)."""
    text = str(error)
    advice = _advice_under(error)
    if advice and advice not in text:
        text = f"{text.rstrip('. ')}. {advice}"
    print(f"batchboard: {one_line(text)}", file=sys.stderr)
    return error.code


def _advice_under(error: BaseException) -> str:
    """The advice for the first API failure in `error`'s chain of causes ('' when there is none)."""
    from batchboard.core.gateway.errors import ApiError, classify

    seen: set[int] = set()
    cause: BaseException | None = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ApiError):
            return cause.failure.advice if cause.failure is not None else ""
        if type(cause).__module__.startswith("anthropic"):
            return classify(cause).advice
        cause = cause.__cause__ or cause.__context__
    return ""


def load_settings_quietly() -> Settings:
    from batchboard.core.config import load_settings

    settings, problems = load_settings()
    for problem in problems:
        print(f"batchboard: {one_line(str(problem))}", file=sys.stderr)
    return settings


def connection_from_args(args: argparse.Namespace, settings: Settings) -> Connection:
    """The API connection for `--profile` (or the default profile, or ANTHROPIC_API_KEY and
    ANTHROPIC_BASE_URL, which is also how tests point the CLI at the emulator)."""
    from batchboard.core.config import ConfigError
    from batchboard.core.gateway.client import Connection, MissingApiKeyError

    try:
        profile = settings.profile(getattr(args, "profile", None))
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    try:
        return Connection.from_env(
            key_env=profile.api_key_env,
            base_url=profile.base_url,
            profile=profile.name if profile.name != "default" else None,
        )
    except MissingApiKeyError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc


def lookup_batch(args: argparse.Namespace, batch_id: str, settings: Settings) -> Batch:
    """The batch as the API has it now; BatchNotFound for an id the API does not know."""
    from batchboard.core.gateway.client import make_sync_client

    with make_sync_client(connection_from_args(args, settings)) as client:
        return _retrieve(client, batch_id)


def _retrieve(client: Anthropic, batch_id: str) -> Batch:
    from batchboard.core.gateway.errors import classify, sdk_error
    from batchboard.core.gateway.results import retrieve_batch

    try:
        return retrieve_batch(client, batch_id)
    except sdk_error() as exc:
        failure = classify(exc)
        kind = BatchNotFound if failure.status == 404 else CommandError
        raise kind(f"could not look up batch {batch_id}: {failure.message}") from exc


def open_store() -> Store:
    """The local store, for a command; says on stderr (once: it does not happen again) that it had to make
    the local files private."""
    from batchboard.core.store import Store

    store = Store.open()
    if store.privacy_notice:
        print(f"batchboard: {one_line(store.privacy_notice)}", file=sys.stderr)
    return store


def open_index() -> ResultsIndex:
    from batchboard.core.results.index import ResultsIndex

    index = ResultsIndex(open_store())
    index.migrate()  # an older database's items move to per-batch files once (the CLI may block for it)
    return index


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most every 0.1 s; silent when stderr is not a TTY."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: IngestProgress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and progress.fraction != 1.0:
            return
        self._last = now
        fraction = progress.fraction
        megabytes = progress.bytes_done / 1_000_000
        if fraction is None:
            from batchboard.core.format import plural

            bar = plural(progress.items_done, "result")
        else:
            filled = int(fraction * self.width)
            bar = (
                f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                f"{progress.items_done:,}/{progress.items_expected:,}"
            )
        retry = f" (attempt {progress.attempt})" if progress.attempt > 1 else ""
        self.stream.write(f"\r{self.label} {bar} {megabytes:.1f} MB{retry}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def ensure_local(args: argparse.Namespace, index: ResultsIndex) -> IngestReport:
    """The batch's results in the index and on disk: from the local copy, else downloaded (with a bar)."""
    from batchboard.core.results.index import FileState
    from batchboard.core.results.ingest import IngestCancelled, IngestError, ingest

    batch_id: str = args.batch_id
    settings = load_settings_quietly()
    try:
        if index.has_local_copy(batch_id):  # nothing to download (a lost items file is rebuilt from it)
            return ingest(batch_id, index, settings=settings)
        connection = connection_from_args(args, settings)
        from batchboard.core.gateway.client import make_sync_client

        bar = ProgressBar(f"downloading {one_line(batch_id)}")
        with make_sync_client(connection) as client:
            batch = _retrieve(client, batch_id)  # an unknown id is BatchNotFound, not an ingest error
            try:
                report = ingest(batch_id, index, batch=batch, client=client, settings=settings, progress=bar)
            finally:
                bar.done()
    except (IngestError, IngestCancelled, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    except KeyboardInterrupt:
        raise CommandError("interrupted; nothing was kept", 130) from None
    if report.state is FileState.UNAVAILABLE:
        raise CommandError(f"results of {batch_id} are not available: {report.message}")
    return report


def write_lines_atomic(target: Path, lines: Iterable[bytes]) -> int:
    """Stream `lines` into `target` whole or not at all: a reader never sees half a file."""
    from batchboard.core import fsio

    count = 0
    opened = False
    try:
        with fsio.atomic_file(target) as out:
            opened = True
            for line in lines:
                out.write(line)
                count += 1
    except OSError as exc:
        if opened:  # failed while writing or renaming: nothing was kept, and the error says why
            raise
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return count
