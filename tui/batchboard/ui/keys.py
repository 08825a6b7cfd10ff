"""What each key of the current screen does, as remapped, and whether it applies now: the one listing behind
the help screen (`?`), the command palette (`ctrl+p`) and a footer key pressed when it does not apply.

Built from public binding APIs only: the `BINDINGS` of batchboard's own classes along the focus chain (the
focused widget up to the screen, then the app; a modal screen ends the chain, as in Textual's dispatch),
`BindingsMap.apply_keymap` with the keymap from the settings, `check_action`, `App.get_key_display`.
Textual's own bindings (focus next, copy selected text, …) are left out, so the help speaks batchboard's
words only. Whether an action applies, and why not, comes from the node's `why_not(action)` when it has one
(the screens about batches ask the controller), else from its `check_action`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.actions import parse
from textual.app import SystemCommand
from textual.binding import Binding, BindingsMap
from textual.keys import key_to_character
from textual.markup import escape
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen

NOT_HERE = "not available here now"


@runtime_checkable
class ExplainsActions(Protocol):
    """A node that can say why one of its actions does not apply now."""

    def why_not(self, action: str) -> str | None:
        """A few words on why `action` (its name, without parameters) does not apply; None if it does."""


@dataclass(frozen=True)
class KeyAction:
    """One action of the screen with every key bound to it."""

    node: DOMNode
    """Where the binding is defined (the action runs there unless it names `app.` or `screen.`)."""
    action: str
    """The action as bound, parameters included: `quick_filter('all')`."""
    keys: tuple[str, ...]
    """The keys, as displayed and as remapped by the keymap."""
    raw_keys: tuple[str, ...]
    """The same keys as Textual names them (`question_mark`)."""
    binding_id: str
    description: str
    tooltip: str
    shown: bool
    """Offered in the footer when it applies."""
    reason: str | None
    """Why it does not apply now; None when it does."""

    @property
    def what(self) -> str:
        """What it does, in one line: the tooltip, else the description."""
        return self.tooltip or self.description

    @property
    def key_text(self) -> str:
        return " / ".join(self.keys)


def normalize_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """The keymap with Textual's key names (`?` -> `question_mark`), as `App.set_keymap` stores it."""
    return {
        binding_id: ",".join(b.key for b in Binding.make_bindings([Binding(keys, "")]))
        for binding_id, keys in keymap.items()
        if keys.strip()
    }


def own_bindings(node: DOMNode) -> BindingsMap:
    """The bindings batchboard's classes give `node` (not Textual's), subclasses over their bases."""
    keys: dict[str, list[Binding]] = {}
    for cls in reversed(type(node).__mro__):
        if not cls.__module__.startswith("batchboard.") or "BINDINGS" not in cls.__dict__:
            continue
        keys.update(BindingsMap(cls.__dict__["BINDINGS"]).key_to_bindings)
    return BindingsMap.from_keys(keys)


def binding_chain(screen: Screen[Any]) -> list[DOMNode]:
    """The nodes whose keys work on `screen` now, in the order a key is offered to them."""
    focused = screen.focused
    nodes: list[DOMNode] = list(focused.ancestors_with_self) if focused is not None else [screen, screen.app]
    for index, node in enumerate(nodes, 1):
        if node.is_modal:
            return nodes[:index]
    return nodes


def why_not(node: DOMNode, action: str, screen: Screen[Any]) -> str | None:
    """Why `action` (bound on `node`) does not apply now; None when it does."""
    namespace, name, parameters = parse(action)
    target: DOMNode = {"app": screen.app, "screen": screen}.get(namespace, node)
    if isinstance(target, ExplainsActions):
        return target.why_not(name)
    return None if target.check_action(name, parameters) else NOT_HERE


def screen_actions(screen: Screen[Any], keymap: Mapping[str, str]) -> list[KeyAction]:
    """Every action bound on `screen` now (the app's included), each once with all its keys.

    A key taken by a node earlier in the chain (or typed into a focused input) is not counted for a later
    one: that binding would never run. `keymap` is normalized (`normalize_keymap`)."""
    app: App[Any] = screen.app
    taken: set[str] = set()
    consumers: list[Widget] = []
    found: dict[str, tuple[DOMNode, list[Binding]]] = {}
    for node in binding_chain(screen):
        bindings = own_bindings(node)
        bindings.apply_keymap(keymap)
        claimed: set[str] = set()
        for key, binding in bindings:
            if key in taken or any(c.check_consume_key(key, key_to_character(key)) for c in consumers):
                continue
            claimed.add(key)
            owner, same = found.setdefault(binding.action, (node, []))
            if owner is node:  # one entry per action: the node nearest the focus runs it
                same.append(binding)
        taken |= claimed
        if isinstance(node, Widget):
            consumers.append(node)
    return [
        KeyAction(
            node=node,
            action=action,
            keys=tuple(dict.fromkeys(app.get_key_display(b) for b in bindings)),
            raw_keys=tuple(b.key for b in bindings),
            binding_id=bindings[0].id or "",
            description=bindings[0].description,
            tooltip=bindings[0].tooltip,
            shown=any(b.show for b in bindings),
            reason=why_not(node, action, screen),
        )
        for action, (node, bindings) in found.items()
    ]


def refused_key(screen: Screen[Any], key: str, keymap: Mapping[str, str]) -> KeyAction | None:
    """The footer action `key` is bound to on `screen` if it does not apply now (so pressing it did
    nothing); None when the key ran something, or is not a footer key."""
    active = screen.active_bindings.get(key)
    if active is not None and active.enabled:
        return None
    for entry in screen_actions(screen, keymap):
        if key in entry.raw_keys:
            return entry if entry.reason is not None and entry.shown else None
    return None


def sentence(reason: str) -> str:
    """`no failed items in this batch` -> `No failed items in this batch.`"""
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith((".", "…")) else ".")


def palette_commands(screen: Screen[Any], keymap: Mapping[str, str]) -> Iterator[SystemCommand]:
    """One command palette entry per action of `screen` (and the app), with its keys and what it does;
    one that does not apply now says why, and choosing it says so again."""
    for entry in screen_actions(screen, keymap):
        if not entry.description:
            continue
        status = f"not now: {entry.reason}" if entry.reason is not None else entry.what
        yield SystemCommand(
            escape(entry.description), escape(f"{entry.key_text} · {status}"), partial(run, screen, entry)
        )


async def run(screen: Screen[Any], entry: KeyAction) -> None:
    """Run `entry`'s action as its key would, or say why it does not apply now."""
    reason = why_not(entry.node, entry.action, screen)
    if reason is not None:
        explain(screen.app, entry, reason)
        return
    await screen.app.run_action(entry.action, entry.node)


def explain(app: App[Any], entry: KeyAction, reason: str) -> None:
    """Say (as a notification) why `entry` did nothing."""
    app.notify(
        sentence(reason), title=f"{entry.key_text} {entry.description}", severity="warning", markup=False
    )


def help_extras(screen: Screen[Any], actions: list[KeyAction]) -> list[tuple[str, str]]:
    """Keys that Textual's own widgets give the screen, in batchboard's words: what the screen declares in
    `HELP_KEYS` (keys, what they do) and is not bound by batchboard already, then the command palette."""
    app = screen.app
    bound = {key for entry in actions for key in entry.raw_keys}
    extras: list[tuple[str, str]] = []
    for keys, what in getattr(screen, "HELP_KEYS", ()):
        names = [key.strip() for key in keys.split(",")]
        if not bound.intersection(names):
            extras.append((" / ".join(app.get_key_display(Binding(key, "")) for key in names), what))
    if app.ENABLE_COMMAND_PALETTE:
        palette = app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, ""))
        extras.append((palette, "command palette: every action here, and why one does not apply now"))
    return extras
