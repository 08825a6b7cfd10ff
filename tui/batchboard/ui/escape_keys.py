"""Escape when keys arrive together: the App hands each key from the terminal here before Textual routes it.

Escape is one byte that also starts longer sequences, so it is reported late: Textual waits 100 ms for a
following byte (`ESCDELAY`, in ms; its input loop wakes every 100 ms, so a smaller value changes nothing),
after tmux has waited its own `escape-time` (500 ms by default). A key pressed within that wait is glued to
the escape: a second escape comes out as two escapes at once, a letter as alt+letter. And Textual routes
each key to the widget focused when the key is read, before the keys ahead of it are handled, so a key
typed right after escape went to the dialog that escape was closing. So, here:

- escape runs the screen's escape binding at once, and the next keys wait until the focus it moved has
  landed: they go to the screen beneath, never to the dialog that is closing (a widget's own escape
  binding, such as a drop-down's, still comes first);
- an escape within `ESCAPE_REPEAT_WINDOW` of an escape that closed a screen, on the screen it revealed, is
  the same press arriving late and is dropped (a later one acts);
- alt+letter that nothing binds is read as escape, then the letter (batchboard binds no alt keys).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import events
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.app import App

    from batchboard.core.clock import Clock

Deliver = Callable[[events.Key], Awaitable[None]]
"""Textual's own routing of a key (the App's `on_event`)."""

ESCAPE_REPEAT_WINDOW = 0.3
"""Seconds after an escape closed a screen in which another escape on the revealed screen is dropped: two
escapes glued together arrive about 100 ms apart (Textual reports the second one delay later)."""


class EscapeKeys:
    """Reads keys from the terminal before Textual routes them (see the module docstring). The repeat
    window is measured on the app's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._closed_at: datetime | None = None
        self._revealed: weakref.ref[Screen[Any]] | None = None
        self._held: list[events.Key] | None = None
        """Keys read after an escape ran, until the focus it moved has landed (`Widget.focus` is deferred)."""

    async def route(self, app: App[Any], event: events.Key, deliver: Deliver) -> None:
        """Route `event`, a key from the terminal, through `deliver` (Textual's routing) or handle it here."""
        if self._held is not None:
            self._held.append(event)
            return
        if event.key == "escape":
            if await self._escape(app):
                self._hold(app, deliver)
            else:
                await deliver(event)
            return
        letter = self._glued_letter(app, event)
        if letter is None:
            await deliver(event)
            return
        if await self._escape(app):
            self._hold(app, deliver)
        else:
            await deliver(events.Key("escape", "\x1b"))
        await self.route(app, events.Key(letter, letter), deliver)

    def _hold(self, app: App[Any], deliver: Deliver) -> None:
        """Hold the next keys until the callbacks the escape's action queued (focus moves) have run."""
        self._held = []
        if not app.call_later(self._release, app, deliver):
            self._held = None  # the app is closing: nothing to wait for

    async def _release(self, app: App[Any], deliver: Deliver) -> None:
        held, self._held = self._held or [], None
        for index, key in enumerate(held):
            await self.route(app, key, deliver)
            if self._held is not None:  # that key was an escape: the rest wait for it in turn
                self._held.extend(held[index + 1 :])
                return

    async def _escape(self, app: App[Any]) -> bool:
        """Drop a repeated escape, or run the screen's escape binding now; False to route it as usual."""
        screen = app.screen
        if self._is_repeat(screen):
            return True
        if screen.maximized is not None:
            return False  # Textual's: escape restores the maximized widget
        active = screen.active_bindings.get("escape")
        if active is None or not active.enabled or not isinstance(active.node, Screen):
            return False
        app.app_focus = True  # as Textual does for a key it routes
        if not await app.run_action(active.binding.action, active.node):
            return False
        if app.screen is not screen:
            self._closed_at = self.clock.now()
            self._revealed = weakref.ref(app.screen)
        return True

    def _is_repeat(self, screen: Screen[Any]) -> bool:
        if self._closed_at is None or self._revealed is None or self._revealed() is not screen:
            return False
        elapsed = (self.clock.now() - self._closed_at).total_seconds()
        return 0 <= elapsed < ESCAPE_REPEAT_WINDOW

    @staticmethod
    def _glued_letter(app: App[Any], event: events.Key) -> str | None:
        """The letter of an alt+letter that nothing on the screen binds (Textual's reading of ESC, letter)."""
        letter = event.character
        if letter is None or len(letter) != 1 or not letter.isalpha():
            return None
        if event.key not in (f"alt+{letter}", f"alt+shift+{letter.lower()}"):
            return None
        return None if event.key in app.screen.active_bindings else letter
