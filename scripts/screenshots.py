"""Write the README's screenshots (screenshots/*.svg) by driving the demo, never by hand.

`python scripts/screenshots.py [--out screenshots] [--port 47800]`

Every run draws the same pictures: the emulator's seeded demo world, a ManualClock that moves only when this
script says so, an emulator on a pinned port (the detail screen shows a results URL), steady cursors, no
toasts, and a scratch config and data directory (never the user's labels or key). The script waits for
conditions (a poll round, the background fetch of results, an estimate, a streamed reply), never for a fixed
time, and finds keys by their binding ids, so a key moved to another letter is still pressed.
`SCREENSHOTS_TRACE=1` prints each condition waited for, with the time it was met.

The chat's reply streams from the emulator at full speed; its timings come from a virtual timer that follows
the stream (0.4 s to the first token, then 60 tokens a second, the emulator's default pace) and the
ManualClock, so the stats and the comparison card read the same on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tui"))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input, TextArea  # noqa: E402
from textual.widgets._toast import ToastRack  # noqa: E402

from batchboard.core.clock import ManualClock  # noqa: E402
from batchboard.core.config import Settings  # noqa: E402
from batchboard.core.gateway.batches import BatchApi  # noqa: E402
from batchboard.core.gateway.client import Connection, make_client  # noqa: E402
from batchboard.core.store import Store  # noqa: E402
from batchboard.demo import DEMO_API_KEY, DEMO_ERROR_RATE  # noqa: E402
from batchboard.emulator import Emulator, EmulatorSettings  # noqa: E402
from batchboard.ui.app import BatchboardApp, make_app  # noqa: E402
from batchboard.ui.escape_keys import ESCAPE_REPEAT_WINDOW  # noqa: E402
from batchboard.ui.screens.submit import SubmitScreen  # noqa: E402
from batchboard.ui.widgets.batch_table import BatchTable  # noqa: E402
from batchboard.ui.widgets.key_footer import KeyFooter  # noqa: E402

T0 = time.monotonic()
SIZE = (160, 45)
NARROW = (80, 24)
MEDIUM = (100, 30)
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PORT = 47800
"""The emulator's port: it shows in the results URL on the detail screen, so it is pinned."""
BATCH_DURATION = 120.0
"""Emulated seconds from create to end for the batches this script sends (the ManualClock is moved on)."""
SUBMIT_PATH = "examples/support-tickets.jsonl"
CHAT_PROMPT = "Summarize in three bullet points why a support team would send its ticket triage as a batch."
TIMEOUT = 60.0
"""Seconds any one condition may take before the script gives up (saying which)."""

# The emulator's default streaming pace, which the chat's virtual timer reproduces.
VIRTUAL_TTFT = 0.4
VIRTUAL_TOKENS_PER_SECOND = 60.0


class Shooter:
    def __init__(self, app: BatchboardApp, pilot: Pilot[None], clock: ManualClock, out: Path) -> None:
        self.app = app
        self.pilot = pilot
        self.clock = clock
        self.out = out
        self.written: list[Path] = []

    # -- waiting ---------------------------------------------------------------------------------

    async def until(self, what: str, done: Callable[[], object], limit: float = TIMEOUT) -> None:
        deadline = time.monotonic() + limit
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what} after {limit:.0f}s")
            await self.pilot.pause(0.02)
        await self.pilot.pause()
        if os.environ.get("SCREENSHOTS_TRACE"):
            print(f"{time.monotonic() - T0:6.2f}s {what}", file=sys.stderr)

    def ingesting(self) -> bool:
        """A results download or index is running (a background fetch, an end, an open)."""
        return any(
            (w.group or "").startswith(("ingest-", "download", "fetch"))
            and w.is_running
            and w.group != "fetch-results"  # the fetcher's own loop never ends: its queue says instead
            for w in self.app.workers
        )

    def fetch_done(self) -> bool:
        fetcher = self.app.controller.fetcher
        return (
            fetcher is not None
            and bool(fetcher.decided)
            and fetcher.idle
            and fetcher.total == 0
            and not self.ingesting()
        )

    async def settle_results(self) -> None:
        """Every ended batch that will be fetched is indexed (or failed), and the table shows it."""
        await self.until("the background fetch of results", self.fetch_done)

    async def screen_is(self, name: str) -> Any:
        await self.until(f"the {name}", lambda: type(self.app.screen).__name__ == name)
        return self.app.screen

    # -- keys ------------------------------------------------------------------------------------

    async def press(self, binding_id: str) -> None:
        """Press the key bound to `binding_id` on the screen or the app (whatever letter it is now)."""
        screen = self.app.screen
        sources: list[Any] = [screen, *screen.query("*"), self.app]
        keys = [key for source in sources for key, binding in source._bindings if binding.id == binding_id]
        if not keys:
            raise RuntimeError(f"no key is bound to {binding_id!r} on {type(screen).__name__}")
        if isinstance(self.app.focused, Input | TextArea):  # a letter would be typed: ctrl+b, not b
            keys = [key for key in keys if len(key) > 1 and key != "space"] or keys
        await self.key(keys[0])

    async def key(self, key: str) -> None:
        """Press `key` as a person does: after the last key's repeat window (an escape within it of one that
        closed a screen is taken for the same press, see ui/escape_keys.py), so the clock moves that much."""
        self.clock.advance(ESCAPE_REPEAT_WINDOW)
        await self.pilot.press(key)
        await self.pilot.pause()

    # -- the world -------------------------------------------------------------------------------

    @property
    def table(self) -> BatchTable:
        return self.app.dashboard.query_one(BatchTable)

    def find(self, count: int) -> str:
        """The demo batch of `count` requests (each size used here occurs once in the demo world)."""
        for batch in self.app.book.batches.values():
            if batch.counts.total == count:
                return batch.id
        raise RuntimeError(f"no demo batch of {count:,} requests")

    def label(self, batch_id: str, label: str) -> None:
        self.app.book.set_label(batch_id, label)
        self.table.update_label(batch_id)

    async def select(self, batch_id: str) -> None:
        table = self.table
        await self.until(f"the row of {batch_id}", lambda: batch_id in self.app.book.batches)
        table.move_cursor(row=table.get_row_index(batch_id))
        await self.pilot.pause()

    async def move_time(self, seconds: float) -> None:
        """Move the shared clock on and poll at once (the app's own interval is an hour)."""
        self.clock.advance(seconds)
        poller = self.app.controller.poller
        assert poller is not None
        rounds = poller.rounds
        poller.refresh_now()
        await self.until("a poll round", lambda: poller.rounds > rounds)

    # -- saving ----------------------------------------------------------------------------------

    async def save(self, name: str) -> None:
        app = self.app
        # Nothing that depends on wall time: toasts time out, cursors blink, and the ages ("updated 1s ago")
        # move on the dashboard's once-a-second tick, which may or may not have come since the clock last
        # moved: bring them up to the clock now.
        app.dashboard.tick()
        app.clear_notifications()
        for screen in app.screen_stack:  # a screen under a modal keeps its own toasts
            for rack in screen.query(ToastRack):
                rack.show(app._notifications)
        for widget in app.screen.query("*"):
            if isinstance(widget, Input | TextArea):
                widget.cursor_blink = False
        # The picture must hold still (every footer drawn with its keys): two exports a moment apart must
        # match.
        for _ in range(3):
            await self.pilot.pause()
        deadline = time.monotonic() + TIMEOUT
        picture = app.export_screenshot()
        while True:
            await self.pilot.pause(0.1)
            again = app.export_screenshot()
            footers = [f for screen in app.screen_stack for f in screen.query(KeyFooter)]
            if again == picture and all(footer.shown for footer in footers):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} screen did not hold still for {TIMEOUT:.0f}s")
            picture = again
        path = self.out / f"{name}.svg"
        path.write_text(picture, encoding="utf-8")
        self.written.append(path)

    async def at_size(self, size: tuple[int, int], name: str) -> None:
        """Save the screen at another terminal size, then return to the usual one."""
        await self.pilot.resize_terminal(*size)
        await self.until(f"the {size[0]}x{size[1]} layout", lambda: self.app.size == size)
        await self.save(name)
        await self.pilot.resize_terminal(*SIZE)
        await self.until("the usual size", lambda: self.app.size == SIZE)


class VirtualTimer:
    """The chat's monotonic timer, read from the stream's progress and the ManualClock instead of the wall:
    a token arrives `VIRTUAL_TTFT` after the send and then one every 1/`VIRTUAL_TOKENS_PER_SECOND` s, and the
    time after the stream moves with the ManualClock. The emulator streams one token per delta when it is
    not paced, so the number of deltas so far is the number of tokens."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.screen: Any = None

    def __call__(self) -> float:
        base = (self.clock.now() - START).total_seconds()
        turn = self.screen.conversation.last if self.screen is not None else None
        if turn is None or turn.stats.started_at is None:
            return base
        stats = turn.stats
        if stats.ended_at is not None:  # after the stream: the clock's time since it started
            return stats.ended_at + (base - stats.started_at)
        return stats.started_at + VIRTUAL_TTFT + stats.chunks / VIRTUAL_TOKENS_PER_SECOND


async def shoot(app: BatchboardApp, clock: ManualClock, out: Path) -> list[Path]:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        s = Shooter(app, pilot, clock, out)
        controller = app.controller
        await s.until("the connection", lambda: controller.fetcher is not None)
        controller.fetcher.pace = 0.0  # type: ignore[union-attr]  # nobody is typing: fetch at full speed
        await s.until(
            "the first poll round", lambda: controller.poller is not None and controller.poller.rounds >= 1
        )
        await s.settle_results()

        # The dashboard, costs filled in by the background fetch.
        running = s.find(8000)
        cached = s.find(1500)
        errors = s.find(1800)
        s.label(running, "nightly summaries")
        s.label(cached, "ticket triage")
        s.label(errors, "invoice extraction")
        await s.select(running)
        await s.save("dashboard")
        # The same at 80x24, as a split pane or a laptop shows it: the columns and keys that matter.
        await s.at_size(NARROW, "dashboard-80x24")

        # An ended batch in full, with its cost breakdown.
        await s.select(cached)
        await pilot.press("enter")
        detail = await s.screen_is("DetailScreen")
        await s.until("the detail's cost", lambda: app.book.results.cost(cached) is not None)
        detail.redraw()
        await s.save("detail")
        await s.press("detail.back")
        await s.screen_is("DashboardScreen")

        # The cancel confirmation on the running batch.
        await s.select(running)
        await s.press("dashboard.cancel")
        await s.screen_is("CancelConfirm")
        await s.save("cancel")
        await s.press("cancel.keep")
        await s.screen_is("DashboardScreen")

        # Every key.
        await s.press("app.help")
        await s.screen_is("HelpScreen")
        await s.save("help")
        await s.key("escape")
        await s.screen_is("DashboardScreen")

        # Error triage: groups and items, then one errored item.
        await s.select(errors)
        await s.press("dashboard.problems")
        problems = await s.screen_is("ProblemsScreen")
        await s.until(
            "the error groups",
            lambda: (
                problems.table.row_count > 0
                and problems.query("#problems-groups")
                and problems.query("#problems-status")
            ),
        )
        await s.save("errors")
        await s.at_size(MEDIUM, "errors-100x30")  # the group list stacked above the items
        await s.press("problems.inspect")
        await s.screen_is("InspectorScreen")
        await s.save("inspector")
        await s.press("inspector.back")
        await s.screen_is("ProblemsScreen")
        await s.press("problems.back")
        await s.screen_is("DashboardScreen")

        # A file checked and estimated, before sending; then sent.
        # Counted one at a time, count_tokens requests reach the emulator in file order: the request id the
        # estimate's error shows is the same on every run.
        SubmitScreen.COUNT_CONCURRENCY = 1
        await s.press("dashboard.submit")
        submit = await s.screen_is("SubmitScreen")
        submit.query_one("#path", Input).value = SUBMIT_PATH
        submit.query_one("#label", Input).value = "support tickets"
        submit.query_one("#path", Input).focus()
        await pilot.press("enter")
        await s.until("the estimate", lambda: submit.ready)
        await s.save("submit")
        known = set(app.book.batches)
        await s.press("submit.send")
        await s.screen_is("DashboardScreen")
        await s.until("the new batch", lambda: set(app.book.batches) - known)
        (sent,) = set(app.book.batches) - known

        # It ends (with some retryable errors, as demo batches do); its failures are resent.
        await s.move_time(BATCH_DURATION + 1)
        await s.until(
            "the sent batch's results", lambda: app.book.results.is_indexed(sent) and s.fetch_done()
        )
        await s.select(sent)
        await s.press("dashboard.retry")
        retry = await s.screen_is("RetryScreen")
        await s.until("the retry estimate", lambda: retry.ready)
        await s.save("retry")
        known = set(app.book.batches)
        await s.press("retry.send")
        await s.screen_is("DashboardScreen")
        await s.until("the retry batch", lambda: set(app.book.batches) - known)
        (again,) = set(app.book.batches) - known

        # The job: the batch and its retry, once the retry has ended too.
        await s.move_time(BATCH_DURATION + 1)
        await s.until("the retry's results", lambda: app.book.results.is_indexed(again) and s.fetch_done())
        await s.until(
            "the job key", lambda: controller.sources is not None and controller.sources.in_job(sent)
        )
        await s.select(sent)
        await s.press("dashboard.job")
        job = await s.screen_is("JobScreen")
        await s.until("the job", lambda: job.job is not None)
        await s.save("job")
        await s.key("escape")
        await s.screen_is("DashboardScreen")

        # The chat: a streamed reply, then the same request as a batch and the comparison card.
        await s.press("dashboard.chat")
        chat = await s.screen_is("ChatScreen")
        from batchboard.core.chat.conversation import Conversation, TurnState

        timer = VirtualTimer(clock)
        timer.screen = chat
        chat.timer = timer
        chat.conversation = Conversation(timer)
        chat.poll_interval = 0.05
        prompt = chat.query_one("#chat-prompt", TextArea)
        prompt.load_text(CHAT_PROMPT)
        prompt.focus()
        await pilot.press("enter")
        await s.until(
            "the streamed reply",
            lambda: (t := chat.last_turn) is not None and t.finished and not chat.streaming,
        )
        turn = chat.last_turn
        if turn.state is not TurnState.DONE:
            raise RuntimeError(f"the chat reply did not finish: {turn.state} {turn.error}")
        await s.press("chat.batch")
        await s.until(
            "the comparison batch", lambda: turn.batch is not None and turn.batch.batch_id is not None
        )
        await s.move_time(BATCH_DURATION + 1)
        await s.until(
            "the comparison card",
            lambda: (
                turn.batch.finished_at is not None
                and not any(w.group == "chat-batch" and w.is_running for w in app.workers)
            ),
        )
        await s.save("chat")
        return s.written


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(out: Path, port: int) -> int:
    if not port_is_free(port):
        print(f"port {port} is in use: pass --port (the detail screenshot shows it)", file=sys.stderr)
        return 2
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)  # the submit screen is given a path relative to the repository
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        # Never the user's own config or data: a screenshot must not show a real label or key.
        os.environ["BATCHBOARD_CONFIG_DIR"] = str(Path(scratch) / "config")
        os.environ["BATCHBOARD_DATA_DIR"] = str(Path(scratch) / "data")
        os.environ.pop("ANTHROPIC_API_KEY", None)
        clock = ManualClock(START)
        # As `batchboard --demo`: new batches fail now and then; replies stream at full speed (the chat's
        # virtual timer supplies the pace).
        emulator = Emulator(
            EmulatorSettings(
                seed=0,
                demo=True,
                error_rate=DEMO_ERROR_RATE,
                batch_duration=BATCH_DURATION,
                ttft=0.0,
                tokens_per_second=0.0,
            ),
            clock=clock,
        )
        base_url = emulator.start_in_thread(port=port)

        def connect() -> BatchApi:
            return BatchApi(make_client(Connection(base_url, DEMO_API_KEY, demo=True)))

        try:
            with Store.memory() as store:
                # Every ended batch whose results can still be downloaded gets its cost in the table.
                settings = Settings(poll_interval=3600, fetch_results_days=30)
                app = make_app(connect=connect, settings=settings, store=store, clock=clock, demo=True)
                for path in asyncio.run(shoot(app, clock, out)):
                    print(path)
        finally:
            emulator.stop_in_thread()
    print(f"done in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument(
        "--port", type=int, default=PORT, help="the emulator's port (shown on the detail screen)"
    )
    args = parser.parse_args()
    sys.exit(main(args.out, args.port))
