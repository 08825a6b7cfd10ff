"""The footer: the screen's keys on one line, by priority, so that narrow terminals keep the ones that matter.

Textual's Footer shows keys in binding order and cuts the line at the right edge, which at 80 columns hides
`?` and `q`. `KeyFooter` renders the screen's active bindings (`Screen.active_bindings`, with the keymap's
display keys) and drops whole entries, lowest priority first, until the line fits; `?` (every key) and `q`
are never dropped, and the command palette lists everything. A screen ranks its keys in `FOOTER_PRIORITY`
(actions, most important first); keys it does not rank come after the ranked ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget

#: Actions that always stay on the footer, at its right end: the help lists every key, and quit. The command
#: palette (which finds every action) comes next, before any of the screen's own keys.
PINNED = ("help", "quit")
PALETTE = "command_palette"
GAP = 2


@dataclass(frozen=True, slots=True)
class FooterEntry:
    """One entry of the footer: the keys as displayed, what they do, and the key a click presses."""

    keys: str
    description: str
    press: str
    action: str
    enabled: bool = True

    @property
    def width(self) -> int:
        return len(self.keys) + (1 + len(self.description) if self.description else 0)


def footer_priority(screen: Screen[object]) -> Sequence[str]:
    """The screen's ranking of its actions (most important first); none by default."""
    return tuple(getattr(screen, "FOOTER_PRIORITY", ()))


def fit_entries(entries: Sequence[FooterEntry], ranking: Sequence[str], width: int) -> list[FooterEntry]:
    """The entries that fit `width` (kept in their order), dropping the lowest ranked first; pinned ones
    (help, quit) always stay, last."""
    pinned = sorted((e for e in entries if e.action in PINNED), key=lambda e: PINNED.index(e.action))
    others = [e for e in entries if e.action not in PINNED]
    rank = {action: i for i, action in enumerate((PALETTE, *ranking))}
    # Enabled keys before disabled ones, then the screen's ranking, then the bindings' order.
    by_priority = sorted(
        range(len(others)), key=lambda i: (not others[i].enabled, rank.get(others[i].action, len(rank)), i)
    )
    used = sum(e.width for e in pinned) + GAP * max(len(pinned) - 1, 0)
    kept: set[int] = set()
    for i in by_priority:
        cost = others[i].width + GAP
        if used + cost <= width:
            kept.add(i)
            used += cost
    kept_others = [e for i, e in enumerate(others) if i in kept]
    palette = [e for e in kept_others if e.action == PALETTE]
    return [e for e in kept_others if e.action != PALETTE] + pinned + palette


class KeyFooter(Widget):
    """The active screen's keys on one line, fitted to the width by priority."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        padding: 0 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.shown: list[FooterEntry] = []
        """The entries on the footer now, left to right."""
        self.renders = 0
        """How many times the footer was drawn (a poll round that changes no key must not draw it)."""
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.refresh()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # Screens refresh their bindings after every poll round and cursor move; most of the time the
        # footer reads the same, and is drawn again only when it does not.
        if self.is_attached and screen is self.screen and self._fitted() != self.shown:
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.refresh()

    def entries(self) -> list[FooterEntry]:
        """Every key the screen offers now (shown bindings; a binding group as one entry)."""
        app = self.app
        found: list[FooterEntry] = []
        seen_actions: set[str] = set()
        groups: dict[Binding.Group, int] = {}  # a group's entry, by its index in `found`
        # While an input has the focus it takes `q` and `?` as text: a hidden key for the same action
        # (Textual's ctrl+q for quit) is shown instead, so the footer still says how to leave.
        hidden_pinned: dict[str, tuple[Binding, bool]] = {}
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show and binding.action in PINNED:
                hidden_pinned.setdefault(binding.action, (binding, enabled))
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            display = app.get_key_display(binding)
            group = binding.group
            if group is not None:
                index = groups.get(group)
                if index is not None:
                    entry = found[index]
                    joined = entry.keys + ("" if group.compact else " ") + display
                    found[index] = FooterEntry(
                        joined, entry.description, entry.press, entry.action, entry.enabled
                    )
                    continue
                groups[group] = len(found)
                found.append(
                    FooterEntry(display, group.description, _first_key(binding), binding.action, enabled)
                )
                continue
            found.append(
                FooterEntry(display, binding.description, _first_key(binding), binding.action, enabled)
            )
        for action, (binding, enabled) in hidden_pinned.items():
            if action not in seen_actions:
                seen_actions.add(action)
                description = binding.description or action.title()
                found.append(
                    FooterEntry(
                        app.get_key_display(binding), description, _first_key(binding), action, enabled
                    )
                )
        if app.ENABLE_COMMAND_PALETTE and PALETTE not in seen_actions:
            palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                binding = palette.binding
                display = app.get_key_display(binding)
                found.append(FooterEntry(display, binding.description, _first_key(binding), PALETTE))
        return found

    def _fitted(self) -> list[FooterEntry]:
        """The entries the footer would show now, at its width."""
        width = self.content_size.width
        return fit_entries(self.entries(), footer_priority(self.screen), width if width > 0 else 10_000)

    def render(self) -> Content:
        self.renders += 1
        shown = self._fitted()
        self.shown = shown
        parts: list[Content] = []
        spans: list[tuple[int, int, str]] = []
        x = 0
        for entry in shown:
            if parts:
                parts.append(Content(" " * GAP))
                x += GAP
            key_style = "bold $footer-key-foreground" if entry.enabled else "$text-disabled"
            text = Content.styled(entry.keys, key_style)
            if entry.description:
                text = Content.assemble(
                    text, " ", Content.styled(entry.description, "" if entry.enabled else "$text-disabled")
                )
            parts.append(text)
            spans.append((x, x + entry.width, entry.press))
            x += entry.width
        self._spans = spans
        return Content.assemble(*parts)

    def on_click(self, event: events.Click) -> None:
        x = event.x - 1  # the left padding
        for start, end, key in self._spans:
            if start <= x < end:
                event.stop()
                self.app.simulate_key(key)
                return


def _first_key(binding: Binding) -> str:
    return binding.key.split(",")[0].strip()
