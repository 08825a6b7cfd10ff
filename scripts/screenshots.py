"""Write the README's screenshots (screenshots/*.svg) by driving the demo, never by hand.

The emulator's seeded demo world and a ManualClock make every run draw the same pictures:
`python scripts/screenshots.py [--out screenshots]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tui"))

from textual.pilot import Pilot  # noqa: E402

from batchboard.core.api import BatchApi  # noqa: E402
from batchboard.core.client import Connection, make_client  # noqa: E402
from batchboard.core.clock import ManualClock  # noqa: E402
from batchboard.core.config import Settings  # noqa: E402
from batchboard.core.store import Store  # noqa: E402
from batchboard.emulator import Emulator, EmulatorSettings  # noqa: E402
from batchboard.ui.app import BatchboardApp, make_app  # noqa: E402
from batchboard.ui.widgets.batch_table import BatchTable  # noqa: E402

SIZE = (160, 45)
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def settle(pilot: Pilot[None], done: object) -> None:
    deadline = time.monotonic() + 30
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError("the demo did not load")
        await pilot.pause(0.02)
    await pilot.pause()


async def shoot(app: BatchboardApp, out: Path) -> list[Path]:
    written: list[Path] = []

    def save(name: str) -> None:
        written.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, lambda: app.dashboard.poller is not None and app.dashboard.poller.rounds >= 1)
        table = app.dashboard.query_one(BatchTable)
        running = next(b.id for b in app.book.batches.values() if b.is_active and b.counts.total == 8000)
        app.book.set_label(running, "nightly summaries")
        table.update_label(running)
        table.move_cursor(row=table.get_row_index(running))
        await pilot.pause()
        save("dashboard")
        await pilot.press("enter")
        await pilot.pause()
        save("detail")
        await pilot.press("escape", "c")
        await pilot.pause()
        save("cancel")
        await pilot.press("n", "question_mark")
        await pilot.pause()
        save("help")
    return written


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        # Never the user's own config or data: a screenshot must not show a real label or key.
        os.environ["BATCHBOARD_CONFIG_DIR"] = str(Path(scratch) / "config")
        os.environ["BATCHBOARD_DATA_DIR"] = str(Path(scratch) / "data")
        clock = ManualClock(START)
        emulator = Emulator(EmulatorSettings(seed=0, demo=True), clock=clock)
        base_url = emulator.start_in_thread()

        def connect() -> BatchApi:
            return BatchApi(make_client(Connection(base_url, "sk-ant-demo-not-a-real-key", demo=True)))

        try:
            with Store.memory() as store:
                settings = Settings(poll_interval=3600)
                app = make_app(connect=connect, settings=settings, store=store, clock=clock, demo=True)
                for path in asyncio.run(shoot(app, out)):
                    print(path)
        finally:
            emulator.stop_in_thread()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    sys.exit(main(parser.parse_args().out))
