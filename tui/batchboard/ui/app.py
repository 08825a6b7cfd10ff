"""The batchboard App: wiring only. The controller (`ui/controller.py`) owns the connection, the poll loop and
the batch actions; screens own what they show; services (store, API, poller) own data.

`make_app` is the one factory, used by the CLI, the tests, the benchmarks and the screenshot script.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Event, Key
from textual.screen import Screen

from batchboard.core.clock import Clock, SystemClock
from batchboard.core.config import ConfigProblem, Settings
from batchboard.core.store import SavedView, Store
from batchboard.ui import keys
from batchboard.ui.book import BatchBook
from batchboard.ui.controller import Connect, Controller
from batchboard.ui.escape_keys import EscapeKeys
from batchboard.ui.messages import BatchesUpdated
from batchboard.ui.screens.dashboard import DashboardScreen

if TYPE_CHECKING:
    from batchboard.core.results.service import ResultsService

__all__ = ["BatchboardApp", "Connect", "make_app"]


class BatchboardApp(App[None]):
    CSS_PATH = Path(__file__).parent / "batchboard.tcss"  # absolute: subclasses (benchmarks) live elsewhere
    TITLE = "batchboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", tooltip="Every key", id="app.help"),
        Binding("q", "quit", "Quit", tooltip="Quit batchboard", id="app.quit"),
    ]

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        clock: Clock,
        connect: Connect,
        demo: bool = False,
        demo_connect: Connect | None = None,
        problems: Sequence[ConfigProblem] = (),
        saved: SavedView | None = None,
        results: ResultsService | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.clock = clock
        self.problems = list(problems)
        self.book = BatchBook(clock, store)
        if saved is not None:
            self.book.show_saved(saved)
        self.book.results = results  # read already (`ResultsService.preload`): the first frame's costs
        self.controller = Controller(
            self, book=self.book, settings=settings, connect=connect, demo=demo, demo_connect=demo_connect
        )
        self.dashboard = DashboardScreen(self.controller)
        self.escape_keys = EscapeKeys(clock)
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        self.keymap = keys.normalize_keymap(settings.keymap)
        """The remapped keys, as Textual names them: the help, the palette and refused keys read it."""
        self.set_keymap(self.keymap)

    def get_default_screen(self) -> Screen[None]:
        # The dashboard is the first screen itself, not pushed over Textual's blank one: one screen fewer
        # to compose and style before the first frame.
        return self.dashboard

    def on_mount(self) -> None:
        if self.store.privacy_notice:  # said once: the next start finds nothing to tighten
            self.notify(self.store.privacy_notice, title="Local files", severity="warning", markup=False)
        for problem in self.problems:
            self.notify(
                str(problem), title="Config problem: using the default", severity="warning", markup=False
            )

    def on_ready(self) -> None:
        # The first frame is on screen: only now the rest of the dashboard and the connection.
        self.dashboard.first_frame_shown()
        self.controller.connect()

    async def on_unmount(self) -> None:
        self.controller.remember_cursor()
        await self.controller.close()

    async def on_event(self, event: Event) -> None:
        # Keys from the terminal pass `ui/escape_keys.py` first: escape closes its screen before the next
        # key is routed, and an escape glued to the one before is dropped.
        if isinstance(event, Key) and not event.is_forwarded:
            await self.escape_keys.route(self, event, super().on_event)
            return
        await super().on_event(event)

    @on(BatchesUpdated)
    def _batches_updated(self) -> None:
        self.controller.apply_updates()

    # -- app-wide actions ------------------------------------------------------------------------

    def why_not(self, action: str) -> str | None:
        """Why an app action does not apply now (`ui/keys.py`); None when it does."""
        if action == "open_demo":
            return None if self.controller.can_open_demo else "the demo is not available here"
        if action == "retry_batch":
            return self.controller.why_not("retry", self._screen_batch_id())
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A key that needs the API stays offered while connecting: pressed, it says that it waits.
        needs = "retry" if action == "retry_batch" else action
        return self.why_not(action) is None or self.controller.waits_for_connection(needs)

    def _screen_batch_id(self) -> str | None:
        batch_id = getattr(self.screen, "batch_id", None)
        return batch_id if isinstance(batch_id, str) else None

    def action_retry_batch(self) -> None:
        """`R` on a screen about one batch (the error triage view): resend its failed items."""
        batch_id = self._screen_batch_id()
        if batch_id is not None:
            self.controller.request_retry(batch_id)

    def action_open_demo(self) -> None:
        """From the no-key screen: start over on the built-in emulator."""
        if self.controller.can_open_demo:
            self.pop_screen()
            self.controller.open_demo()

    def action_help(self) -> None:
        from batchboard.ui.screens.help import HelpScreen

        screen = self.screen
        if not isinstance(screen, HelpScreen):
            actions = keys.screen_actions(screen, self.keymap)
            self.push_screen(HelpScreen(actions, keys.help_extras(screen, actions)))

    def on_key(self, event: Key) -> None:
        # A footer key whose action does not apply now did nothing (Textual skips it): say why.
        refused = keys.refused_key(self.screen, event.key, self.keymap)
        if refused is not None and refused.reason is not None:
            keys.explain(self, refused, refused.reason)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from keys.palette_commands(screen, self.keymap)
        yield SystemCommand("Theme", "Change the colour theme", self.action_change_theme)
        yield SystemCommand(
            "Screenshot",
            "Save an SVG screenshot of the screen",
            lambda: self.set_timer(0.1, self.deliver_screenshot),
        )


def make_app(
    *,
    connect: Connect,
    settings: Settings | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
    demo: bool = False,
    demo_connect: Connect | None = None,
    problems: Sequence[ConfigProblem] = (),
    saved: SavedView | None = None,
    results: ResultsService | None = None,
) -> BatchboardApp:
    """The app with its dependencies: tests pass an in-memory store, a ManualClock and a `connect`
    that builds a BatchApi pointed at the emulator; no monkeypatching needed. `saved` (the last session's
    table) and `results` (its costs, `ResultsService.preload`ed) are read off the UI thread before the app
    is made, for the first frame. A theme or keymap entry the app cannot use is left out and said
    (`ui.keymap_choices.checked`)."""
    from batchboard.ui.keymap_choices import checked

    settings, unusable = checked(settings or Settings(), BatchboardApp)
    return BatchboardApp(
        settings=settings,
        store=store or Store.memory(),
        clock=clock or SystemClock(),
        connect=connect,
        demo=demo,
        demo_connect=demo_connect,
        problems=[*problems, *unusable],
        saved=saved,
        results=results,
    )
