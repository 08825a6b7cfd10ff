"""What the config's `theme` and `[keymap]` may name, read from the app itself: Textual's themes, and every
screen's bindings (its own, its widgets' and the app-wide ones) from their BINDINGS. `batchboard config` and
the TUI's start-up check a config against these (`core.config.choice_problems`), passing the App class (only
commands and the App module itself import it); the core never imports Textual, so this is the one place that
collects them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

from batchboard.core.config import (
    Choices,
    ConfigProblem,
    KeyBinding,
    Settings,
    choice_problems,
    names_ui_choices,
    without_problems,
)

#: Widgets with bindings of their own, by the screen that shows them (module:class, imported lazily).
SCREEN_WIDGETS: dict[str, tuple[str, ...]] = {
    "DashboardScreen": ("batchboard.ui.widgets.batch_table:BatchTable",),
    "ProblemsScreen": ("batchboard.ui.screens.problems:ItemsTable",),
}


def choices(app: type[App[None]]) -> Choices:
    """The themes and, per screen (named by its binding ids' prefix: "dashboard", "detail"), its bindings
    merged with `app`'s."""
    from textual.theme import BUILTIN_THEMES

    app_wide = _bindings(app, App)
    screens: dict[str, tuple[KeyBinding, ...]] = {}
    for screen in _screen_classes(skip=app.__module__):
        widgets = [_load(name) for name in SCREEN_WIDGETS.get(screen.__name__, ())]
        own = _bindings(screen, Screen)
        merged = [*app_wide, *own, *(b for widget in widgets for b in _bindings(widget))]
        screens[_screen_name(screen, own)] = tuple(merged)
    return Choices(themes=frozenset(BUILTIN_THEMES), screens=screens)


def check(settings: Settings, app: type[App[None]], file: Path | None = None) -> list[ConfigProblem]:
    """The theme and keymap problems of `settings` for `app` (for `config set` and `batchboard config`)."""
    return choice_problems(settings, choices(app), file)


def checked(
    settings: Settings, app: type[App[None]], file: Path | None = None
) -> tuple[Settings, list[ConfigProblem]]:
    """For the TUI's start: `settings` without a theme or keymap entry it cannot use (so a key never
    silently replaces another action), and the problems to say. Nothing is imported for a default config."""
    if not names_ui_choices(settings):
        return settings, []
    problems = check(settings, app, file)
    return without_problems(settings, problems), problems


def _screen_classes(skip: str) -> list[type[Screen[object]]]:
    """Every screen class defined in batchboard.ui that has bindings of its own, but for module `skip`
    (the App's: it defines no screen, and only its callers import it)."""
    import batchboard.ui

    found: dict[str, type[Screen[object]]] = {}
    for module_info in pkgutil.walk_packages(batchboard.ui.__path__, "batchboard.ui."):
        if module_info.name == skip:
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Screen)
                and value.__module__ == module.__name__
                and _own_bindings(value)
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def _own_bindings(cls: type) -> Sequence[BindingType]:
    bindings: Sequence[BindingType] = cls.__dict__.get("BINDINGS", ())
    return bindings


def _bindings(cls: type[DOMNode], base: type[DOMNode] | None = None) -> list[KeyBinding]:
    """`cls`'s bindings merged as Textual merges them (a subclass's binding for a key replaces its bases'):
    batchboard's classes, then Textual's own `base` (App, Screen) beneath them."""
    classes = [c for c in reversed(cls.__mro__) if c.__module__.startswith("batchboard.")]
    if base is not None:
        classes.insert(0, base)
    by_key: dict[str, list[Binding]] = {}
    for klass in classes:
        mine: dict[str, list[Binding]] = {}
        for binding in Binding.make_bindings(_own_bindings(klass)):
            mine.setdefault(binding.key, []).append(binding)
        by_key.update(mine)
    merged: dict[str, KeyBinding] = {}
    for binding in (b for bindings in by_key.values() for b in bindings):
        name = binding.id or f"textual:{binding.action}"
        found = merged.get(name)
        keys = (*found.keys, binding.key) if found else (binding.key,)
        merged[name] = KeyBinding(binding.id, keys, binding.description or binding.action)
    return list(merged.values())


def _screen_name(screen: type, bindings: Iterable[KeyBinding]) -> str:
    prefixes = [b.id.partition(".")[0] for b in bindings if b.id and "." in b.id]
    return max(set(prefixes), key=prefixes.count) if prefixes else screen.__name__


def _load(name: str) -> type[DOMNode]:
    module, _, attribute = name.partition(":")
    widget: type[DOMNode] = getattr(importlib.import_module(module), attribute)
    return widget
