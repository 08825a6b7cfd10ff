"""At start, the TUI leaves out a keymap entry that would take another action's key (and an unknown theme),
and says so in a notification: `keymap.dashboard.cancel = "q"` keeps q as Quit."""

from __future__ import annotations

from tests.ui.conftest import SIZE, connect_to, first_round, footer_keys

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.store import Store
from batchboard.emulator import Emulator
from batchboard.ui.app import make_app


async def test_a_clashing_key_is_said_and_ignored_and_quit_stays_on_q(
    emulator: Emulator, clock: ManualClock, store: Store
) -> None:
    settings = Settings(
        poll_interval=3600.0, theme="notatheme", keymap={"dashboard.cancel": "q", "dashboard.label": "L"}
    )
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)
    assert app.settings.keymap == {"dashboard.label": "L"} and app.theme == "textual-dark"
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign,assignment]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        assert any("Cancel (dashboard.cancel) and Quit (app.quit)" in m for m in said), said
        assert any('unknown theme "notatheme"' in m for m in said), said
        keys = footer_keys(app)
        assert "c" in keys and "L" in keys and "l" not in keys  # cancel kept its key; the label moved
        await pilot.press("q")
    assert app.return_code == 0  # q still quits
