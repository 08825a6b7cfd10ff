"""The batchboard App: wiring only. Screens own their logic; services (store, API, poller) own data.

`make_app` is the one factory, used by the CLI, the tests, the benchmarks and the screenshot script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from batchboard.core.clock import Clock, SystemClock
from batchboard.core.config import ConfigProblem, Settings
from batchboard.core.store import SavedView, Store
from batchboard.ui.book import BatchBook
from batchboard.ui.screens.dashboard import DashboardScreen

if TYPE_CHECKING:
    from batchboard.core.gateway.batches import BatchApi

#: Builds a connected BatchApi. Called in a thread: it imports the SDK (about two seconds).
Connect = Callable[[], "BatchApi"]


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
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.clock = clock
        self.connect_api = connect
        self.demo = demo
        self.demo_connect = demo_connect
        self.problems = list(problems)
        self.book = BatchBook(clock, store)
        if saved is not None:
            self.book.show_saved(saved)
        self.dashboard = DashboardScreen(self.book, demo=demo)
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        self.set_keymap(settings.keymap)

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

    async def on_unmount(self) -> None:
        self.dashboard.remember_cursor()
        # Close the HTTP client on this loop, not at garbage collection after the loop is gone.
        if self.dashboard.api is not None:
            await self.dashboard.api.close()

    # -- navigation ------------------------------------------------------------------------------

    def open_detail(self, batch_id: str) -> None:
        # Imported when first needed: the detail screen pulls in the results modules, which the first
        # frame must not wait for.
        from batchboard.ui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(self.book, batch_id))

    def refresh_detail(self) -> None:
        """New data arrived: a screen on top that shows batch data (`refresh_view`) redraws now."""
        refresh_view = getattr(self.screen, "refresh_view", None)
        if callable(refresh_view):
            refresh_view()

    def show_no_key(self, message: str) -> None:
        from batchboard.ui.screens.no_key import NoKeyScreen

        self.push_screen(NoKeyScreen(message))

    @property
    def can_open_demo(self) -> bool:
        return self.demo_connect is not None and not self.demo

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_demo":
            return self.can_open_demo
        if action == "retry_batch":
            return self._screen_batch_can_retry()
        return True

    def _screen_batch_can_retry(self) -> bool:
        batch_id = getattr(self.screen, "batch_id", None)
        batch = self.book.batches.get(batch_id) if isinstance(batch_id, str) else None
        return batch is not None and batch.can_retry

    def action_retry_batch(self) -> None:
        """`R` on a screen about one batch (the error triage view): resend its failed items."""
        batch_id = getattr(self.screen, "batch_id", None)
        if isinstance(batch_id, str):
            self.dashboard.request_retry(batch_id)

    def action_open_demo(self) -> None:
        """From the no-key screen: start over on the built-in emulator."""
        if self.demo_connect is None:
            return
        self.connect_api = self.demo_connect
        self.demo = True
        self.pop_screen()
        self.dashboard.demo = True
        self.dashboard.query_one("#summary").demo = True  # type: ignore[attr-defined]
        self.dashboard.connect()

    def action_help(self) -> None:
        from batchboard.ui.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        sources: list[object] = [screen, *screen.query("BatchTable"), self]
        self.push_screen(HelpScreen(sources))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every key of the current screen is in the palette too.
        for source in (screen, *screen.query("BatchTable")):
            for _key, binding in source._bindings:
                if not binding.description:
                    continue
                if self._check_action_state(binding.action, source) is False:
                    continue  # `app.`-namespaced actions are checked by the app, the rest by their node
                yield SystemCommand(
                    binding.description,
                    binding.tooltip or binding.description,
                    partial(source.run_action, binding.action),
                )
        yield SystemCommand("Help", "Every key", self.action_help)


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
) -> BatchboardApp:
    """The app with its dependencies: tests pass an in-memory store, a ManualClock and a `connect`
    that builds a BatchApi pointed at the emulator; no monkeypatching needed. A theme or keymap entry the
    app cannot use is left out and said (`ui.keymap_choices.checked`)."""
    from batchboard.ui.keymap_choices import checked

    settings, unusable = checked(settings or Settings())
    return BatchboardApp(
        settings=settings,
        store=store or Store.memory(),
        clock=clock or SystemClock(),
        connect=connect,
        demo=demo,
        demo_connect=demo_connect,
        problems=[*problems, *unusable],
        saved=saved,
    )
