"""Start-up: the first frame shows the summary and the empty table only; the footer, the filter input
and the connection (the SDK import) come once it is on screen (Textual's `Ready`)."""

from __future__ import annotations

from tests.ui.conftest import SIZE, first_round

from batchboard.ui.app import BatchboardApp
from batchboard.ui.widgets.key_footer import KeyFooter


async def test_the_first_frame_has_no_footer_and_no_connection_yet(app: BatchboardApp) -> None:
    seen: list[tuple[list[str], bool]] = []

    class Probe(BatchboardApp):
        def on_ready(self) -> None:
            children = [type(w).__name__ for w in self.dashboard.children]
            seen.append((children, bool(self.workers)))
            super().on_ready()

    probe = Probe(
        settings=app.settings, store=app.store, clock=app.clock, connect=app.controller.connect_api, demo=True
    )
    async with probe.run_test(size=SIZE) as pilot:
        await first_round(pilot)
        ((children, connecting),) = seen
        assert "KeyFooter" not in children and "Input" not in children and "BatchTable" in children
        assert not connecting
        assert probe.dashboard.query(KeyFooter) and probe.dashboard.query("#filter")
