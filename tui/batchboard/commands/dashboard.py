"""The default action: open the dashboard TUI on the real API, a profile, or the built-in demo."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.results.service import ResultsService

T = TypeVar("T")


def _in_thread(function: Callable[[], T]) -> Callable[[], T]:
    """Start `function` in a thread; the returned callable waits for it and returns (or raises) its result."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="batchboard-start", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if failure:
            raise failure[0]
        return outcome[0]

    return result


def run_dashboard(args: argparse.Namespace) -> int:
    # Imported here: `batchboard --help` must not pay for Textual.
    from batchboard.core.clock import SystemClock
    from batchboard.core.config import ConfigError, load_settings
    from batchboard.core.store import Account, SavedView, Store
    from batchboard.demo import DemoBackend

    settings, problems = load_settings()
    try:
        profile = settings.profile(getattr(args, "profile", None))
    except ConfigError as exc:
        print(f"batchboard: {exc}", file=sys.stderr)
        return 2

    def connect() -> BatchApi:
        # Called in a thread after the first frame, like everything that imports the SDK.
        from batchboard.core.gateway.batches import BatchApi
        from batchboard.core.gateway.client import Connection, make_client

        connection = Connection.from_env(
            profile.api_key_env,
            base_url=profile.base_url,
            profile=args.profile,
            poll_interval=settings.poll_interval,
        )
        return BatchApi(make_client(connection))

    # The demo's batches must never reach the user's own history (labels, ETA durations, results files):
    # a demo run, and a run with no key (whose only way on is the demo), keeps its data in a throwaway dir.
    has_key = bool(os.environ.get(profile.api_key_env, "").strip())
    scratch = None
    if args.demo or not has_key:
        scratch = tempfile.TemporaryDirectory(prefix="batchboard-demo-")
        os.environ["BATCHBOARD_DATA_DIR"] = scratch.name
    demo = DemoBackend(poll_interval=settings.poll_interval)
    # The saved view belongs to this profile and the place it talks to (never to the key): another
    # profile, or this one pointed at another base URL, starts from an empty table.
    account = Account.of(profile.name, profile.base_url or os.environ.get("ANTHROPIC_BASE_URL"))

    clock = SystemClock()

    def open_store() -> tuple[Store, SavedView, ResultsService]:
        # Imported here, in this thread: the UI thread does not need them for the first frame.
        from batchboard.core.results.index import ResultsIndex
        from batchboard.core.results.service import ResultsService

        store = Store.open()
        try:
            results = ResultsService(ResultsIndex(store), settings, clock)
            results.preload()  # the saved rows' costs and unusable marks, and the header's totals
            return store, store.saved_view(account), results
        except BaseException:
            store.close()
            raise

    # The store opens, and the saved view and its costs are read, in a thread while the UI modules
    # import: its file creation, syncs and the 10,000-row reads overlap them, and none of it runs on the
    # UI thread.
    opening = _in_thread(open_store)
    from batchboard.ui.app import make_app

    store, saved, results = opening()
    if scratch is not None:  # the throwaway store only: the demo's structured batches, as if sent from here
        demo.sent_from = (store, Path(scratch.name) / "demo-requests")
    app = make_app(
        saved=saved,
        results=results,
        connect=demo.connect if args.demo else connect,
        settings=settings,
        store=store,
        clock=clock,
        demo=bool(args.demo),
        demo_connect=demo.connect,
        problems=problems,
    )
    try:
        app.run()
    finally:
        demo.close()
        store.close()
        if scratch is not None:
            scratch.cleanup()
    return 0
