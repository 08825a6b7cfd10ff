"""User settings: read from `config.toml` with tomllib, validated into `Settings`, written with tomli_w.

A bad file never stops the app: `load_settings` returns defaults for whatever it could not use, plus one
`ConfigProblem` per problem naming the file, the key, what was expected and what it got. API keys are
never stored: a profile names the environment variable that holds its key.

Problem messages quote values from the file; show them as plain text, never as markup.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from batchboard.core import paths

DEFAULT_PROFILE_NAME = "default"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
API_KEY_PREFIX = "sk-ant-"
PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
PROFILE_FIELDS = ("api_key_env", "base_url")

#: How validators report a problem: (dotted key, message).
_Report = Callable[[str, str], None]
#: More checks of settings, from the UI (themes and bindings): the problems, naming the file.
Check = Callable[["Settings", Path], "list[ConfigProblem]"]

_ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConfigError(ValueError):
    """A setting could not be written or resolved; the message names the key and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(_hide_keys(message))


class UnknownProfileError(ConfigError):
    """`--profile NAME` (or `default_profile`) names no profile in the config file."""


@dataclass(frozen=True)
class Profile:
    """Where to find an API key (by environment variable name, never the key itself) and the API."""

    name: str
    api_key_env: str = DEFAULT_KEY_ENV
    base_url: str | None = None


@dataclass(frozen=True)
class Settings:
    poll_interval: float = 5.0
    """Seconds between poll rounds (at least 1)."""
    theme: str = "textual-dark"
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys, handed to `App.set_keymap` (for example {"cancel": "x"})."""
    default_model: str = "claude-sonnet-5-5"
    expiry_warning_hours: float = 4.0
    expiry_critical_hours: float = 1.0
    fetch_results_days: int = 7
    """Ended batches created within this many days get their results fetched in the background (costs
    show without opening them, and the results stay after the API deletes them); 0 turns it off."""
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str | None = None
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per-model price overrides in USD per million tokens, keyed by the fields in PRICE_FIELDS."""
    from_file: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Dotted keys whose values came from the config file (the rest are defaults)."""

    def profile(self, name: str | None = None) -> Profile:
        """Resolve `name`, else `default_profile`, else the implicit profile reading ANTHROPIC_API_KEY."""
        wanted = name or self.default_profile
        if wanted is None:
            return Profile(DEFAULT_PROFILE_NAME)
        if wanted in self.profiles:
            return self.profiles[wanted]
        if wanted == DEFAULT_PROFILE_NAME:
            return Profile(DEFAULT_PROFILE_NAME)
        if not self.profiles:
            raise UnknownProfileError(
                f"unknown profile {_quote(wanted)}: no profiles are configured "
                f'(add [profiles.{_toml_key(wanted)}] with api_key_env = "ENV_VAR_NAME" to the config file)'
            )
        raise UnknownProfileError(
            f"unknown profile {_quote(wanted)} (configured: {', '.join(sorted(self.profiles))})"
            f"{_suggest(wanted, self.profiles)}"
        )


@dataclass(frozen=True)
class ConfigProblem:
    file: Path
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


DEFAULTS = Settings()

# Top-level scalar settings: key -> (what is expected, as said in messages).
_NUMBERS: dict[str, tuple[float, str]] = {
    "poll_interval": (1.0, "a number of seconds ≥ 1"),
    "expiry_warning_hours": (0.0, "a number of hours ≥ 0"),
    "expiry_critical_hours": (0.0, "a number of hours ≥ 0"),
}
# Whole-number settings: key -> (minimum, what is expected).
_WHOLE_NUMBERS: dict[str, tuple[int, str]] = {
    "fetch_results_days": (0, "a whole number of days ≥ 0 (0: off)"),
}
_STRINGS: dict[str, str] = {
    "theme": "a theme name (text)",
    "default_model": "a model name (text)",
    "default_profile": "the name of a profile under [profiles]",
}
_TABLES = ("keymap", "profiles", "prices")
KNOWN_KEYS: tuple[str, ...] = (*_NUMBERS, *_WHOLE_NUMBERS, *_STRINGS, *_TABLES)


# ---------------------------------------------------------------------------------------------- reading


def load_settings(path: Path | None = None) -> tuple[Settings, list[ConfigProblem]]:
    """Read and validate the config file. Never raises on bad content: bad values fall back to defaults."""
    file = path or paths.config_file()
    doc, problem = _read_document(file)
    if problem is not None:
        return DEFAULTS, [problem]
    return _validate(doc, file)


def _read_document(file: Path) -> tuple[dict[str, Any], ConfigProblem | None]:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, ConfigProblem(file, "", f"cannot read the file ({exc.strerror or exc}); using defaults")
    import tomllib  # here: with no config file, start-up never loads the parser

    try:
        return tomllib.loads(data.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        return {}, ConfigProblem(file, "", f"not UTF-8 text (byte {exc.start}); using defaults")
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no lineno attribute; the position is in the message.
        text = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", text)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", text)
        where = f"line {match[1]}, column {match[2]}" if match else "end of file"
        return {}, ConfigProblem(file, "", f"invalid TOML at {where}: {reason}; using defaults")


def _validate(doc: Mapping[str, Any], file: Path) -> tuple[Settings, list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    from_file: set[str] = set()
    values: dict[str, Any] = {}

    def problem(key: str, message: str) -> None:
        problems.append(ConfigProblem(file, _hide_keys(key), _hide_keys(message)))

    for key, value in doc.items():
        if key in _NUMBERS:
            minimum, expected = _NUMBERS[key]
            if _is_number(value) and value >= minimum:
                values[key] = float(value)
                from_file.add(key)
            else:
                problem(key, f"expected {expected}, got {_describe(value)}")
        elif key in _WHOLE_NUMBERS:
            least, expected = _WHOLE_NUMBERS[key]
            if _is_number(value) and float(value).is_integer() and value >= least:
                values[key] = int(value)
                from_file.add(key)
            else:
                problem(key, f"expected {expected}, got {_describe(value)}")
        elif key in _STRINGS:
            if isinstance(value, str) and value.strip() and not _looks_like_api_key(value):
                values[key] = value.strip()
                from_file.add(key)
            else:
                problem(key, f"expected {_STRINGS[key]}, got {_describe(value)}")
        elif key == "keymap":
            values[key] = _validate_keymap(value, problem, from_file)
        elif key == "profiles":
            values[key] = _validate_profiles(value, problem, from_file)
        elif key == "prices":
            values[key] = _validate_prices(value, problem, from_file)
        else:
            problem(key, f"unknown setting {_quote(key)}{_suggest(key, KNOWN_KEYS, 'settings')}")

    warning = values.get("expiry_warning_hours", DEFAULTS.expiry_warning_hours)
    critical = values.get("expiry_critical_hours", DEFAULTS.expiry_critical_hours)
    if critical > warning:
        if "expiry_critical_hours" in values:
            problem(
                "expiry_critical_hours",
                f"expected at most expiry_warning_hours ({_number(warning)}), got {_number(critical)}",
            )
            from_file.discard("expiry_critical_hours")
        # The default (1 h) can itself exceed a small warning threshold: never let critical outrank warning.
        values["expiry_critical_hours"] = min(DEFAULTS.expiry_critical_hours, warning)

    default_profile: str | None = values.get("default_profile")
    profiles: dict[str, Profile] = values.get("profiles", {})
    # "default" names the implicit profile (ANTHROPIC_API_KEY), so it is valid without a [profiles] entry.
    if default_profile is not None and default_profile not in (DEFAULT_PROFILE_NAME, *profiles):
        known = ", ".join(sorted(profiles)) or "none configured"
        problem(
            "default_profile",
            f"expected the name of a profile under [profiles] ({known}), got "
            f"{_describe(default_profile)}{_suggest(default_profile, profiles)}",
        )
        from_file.discard("default_profile")
        values.pop("default_profile")

    return Settings(**values, from_file=frozenset(from_file)), problems


def _validate_keymap(value: Any, problem: _Report, from_file: set[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        problem("keymap", f'expected a table of binding id = "keys", got {_describe(value)}')
        return {}
    keymap: dict[str, str] = {}
    for binding_id, keys in _flatten(value).items():
        dotted = f"keymap.{binding_id}"
        if isinstance(keys, str) and keys.strip():
            keymap[binding_id] = keys.strip()
            from_file.add(dotted)
        else:
            problem(dotted, f'expected keys as text (for example "x" or "ctrl+x,f5"), got {_describe(keys)}')
    return keymap


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Binding ids contain dots ("dashboard.cancel"): unquoted in TOML they read as nested tables."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _validate_profiles(value: Any, problem: _Report, from_file: set[str]) -> dict[str, Profile]:
    if not isinstance(value, dict):
        problem("profiles", f"expected a table of [profiles.NAME] tables, got {_describe(value)}")
        return {}
    profiles: dict[str, Profile] = {}
    for name, table in value.items():
        prefix = f"profiles.{name}"
        if not isinstance(table, dict):
            problem(prefix, f"expected a table with api_key_env and base_url, got {_describe(table)}")
            continue
        fields: dict[str, str] = {}
        usable = True
        for key, item in table.items():
            dotted = f"{prefix}.{key}"
            if key == "api_key_env":
                if isinstance(item, str) and _ENV_VAR_NAME.fullmatch(item):
                    fields[key] = item
                    from_file.add(dotted)
                    continue
                # Falling back to ANTHROPIC_API_KEY could silently use another account: drop the profile.
                usable = False
                if _looks_like_api_key(item):
                    problem(
                        dotted,
                        "expected the name of an environment variable holding the key, got an API key "
                        "(not shown); remove it from the file, export it as a variable and name that here. "
                        f"Profile {_quote(name)} is ignored",
                    )
                else:
                    problem(
                        dotted,
                        f"expected an environment variable name, got {_describe(item)}; "
                        f"profile {_quote(name)} is ignored",
                    )
            elif key == "base_url":
                if (
                    isinstance(item, str)
                    and re.match(r"https?://[^\s/]", item)
                    and not _looks_like_api_key(item)
                ):
                    fields[key] = item
                    from_file.add(dotted)
                else:
                    problem(
                        dotted, f"expected a URL starting with http:// or https://, got {_describe(item)}"
                    )
            else:
                problem(dotted, f"unknown profile setting {_quote(key)}{_suggest(key, PROFILE_FIELDS)}")
        if usable:
            profiles[name] = Profile(name, **fields)
        else:
            from_file.difference_update(f"{prefix}.{k}" for k in PROFILE_FIELDS)
    return profiles


def _validate_prices(value: Any, problem: _Report, from_file: set[str]) -> dict[str, dict[str, float]]:
    if not isinstance(value, dict):
        problem("prices", f"expected a table of [prices.MODEL] tables, got {_describe(value)}")
        return {}
    prices: dict[str, dict[str, float]] = {}
    for model, table in value.items():
        prefix = f"prices.{model}"
        if not isinstance(table, dict):
            problem(prefix, f"expected a table of prices per million tokens, got {_describe(table)}")
            continue
        model_prices: dict[str, float] = {}
        for key, item in table.items():
            dotted = f"{prefix}.{key}"
            if key not in PRICE_FIELDS:
                problem(dotted, f"unknown price {_quote(key)}{_suggest(key, PRICE_FIELDS)}")
            elif _is_number(item) and item >= 0:
                model_prices[key] = float(item)
                from_file.add(dotted)
            else:
                problem(dotted, f"expected a price in USD per million tokens ≥ 0, got {_describe(item)}")
        if model_prices:
            prices[model] = model_prices
    return prices


# ------------------------------------------------------------------------------ themes and key bindings


@dataclass(frozen=True)
class KeyBinding:
    """A key binding as the app has it, so a keymap can be checked without Textual: its id (None for one of
    Textual's own, which a keymap cannot change), its default keys, and what it does."""

    id: str | None
    keys: tuple[str, ...]
    description: str

    @property
    def name(self) -> str:
        """ "Quit (app.quit)", for messages."""
        return f"{self.description} ({self.id})" if self.id else self.description


@dataclass(frozen=True)
class Choices:
    """What the UI accepts, given by the UI (only it knows Textual): the theme names, and per screen every
    binding active there (the screen's, its widgets' and the app-wide ones)."""

    themes: frozenset[str]
    screens: Mapping[str, tuple[KeyBinding, ...]]


def choice_problems(settings: Settings, choices: Choices, file: Path | None = None) -> list[ConfigProblem]:
    """The theme and keymap entries the UI cannot use: an unknown theme or binding id (with "did you
    mean"), and a keymap entry that gives a key to two actions on one screen (naming both)."""
    file = file or paths.config_file()
    problems: list[ConfigProblem] = []
    if settings.theme not in choices.themes:
        hint = _suggest(settings.theme, sorted(choices.themes), "themes")
        problems.append(ConfigProblem(file, "theme", f"unknown theme {_quote(settings.theme)}{hint}"))
    known = sorted({b.id for bindings in choices.screens.values() for b in bindings if b.id})
    for binding_id in settings.keymap:
        if binding_id not in known:
            message = f"unknown binding id {_quote(binding_id)}{_suggest(binding_id, known)}"
            problems.append(ConfigProblem(file, f"keymap.{binding_id}", message))
    # (remapped binding, key) -> the other actions on that key -> the screens where they meet
    clashes: dict[tuple[KeyBinding, str], dict[str, list[str]]] = {}
    for screen, bindings in choices.screens.items():
        holders: dict[str, list[KeyBinding]] = {}
        for binding in bindings:
            remap = settings.keymap.get(binding.id) if binding.id else None
            for key in dict.fromkeys(_keys(remap) if remap is not None else binding.keys):
                holders.setdefault(key, []).append(binding)
        for key, on_key in holders.items():
            actions = list({b.id or b.description: b for b in on_key}.values())
            if len(actions) < 2:
                continue
            for binding in (b for b in actions if b.id in settings.keymap):
                others = clashes.setdefault((binding, key), {})
                for other in actions:
                    if other is not binding:
                        others.setdefault(other.name, []).append(screen)
    for (binding, key), others in clashes.items():
        said = " and ".join(
            f"{name} on the {', '.join(screens)} {'screen' if len(screens) == 1 else 'screens'}"
            for name, screens in others.items()
        )
        message = f"{_quote(key)} would be both {binding.name} and {said}; give one of them another key"
        problems.append(ConfigProblem(file, f"keymap.{binding.id}", message))
    return problems


def names_ui_choices(settings: Settings) -> bool:
    """Whether `settings` names a theme or a keymap entry, which only the UI can check (so a default
    config costs no import of Textual)."""
    return bool(settings.keymap) or settings.theme != DEFAULTS.theme


def without_problems(settings: Settings, problems: Iterable[ConfigProblem]) -> Settings:
    """`settings` with the theme and the keymap entries that have a problem back at their defaults."""
    bad = {p.key for p in problems}
    keymap = {k: v for k, v in settings.keymap.items() if f"keymap.{k}" not in bad}
    theme = DEFAULTS.theme if "theme" in bad else settings.theme
    if keymap == settings.keymap and theme == settings.theme:
        return settings
    return replace(settings, keymap=keymap, theme=theme)


def _keys(text: str) -> tuple[str, ...]:
    """ "ctrl+x, f5" -> ("ctrl+x", "f5"), as Textual splits a binding's keys."""
    return tuple(key.strip() for key in text.split(",") if key.strip())


# ---------------------------------------------------------------------------------------------- writing


def set_setting(key: str, value: str, path: Path | None = None, check: Check | None = None) -> Settings:
    """Set one (dotted) key from its command-line text, validate, and write the file atomically.

    Raises ConfigError naming the key and what was expected, and writes nothing, if the value is bad,
    the key unknown, the value looks like an API key, or the existing file cannot be parsed. `check` adds
    what only the UI can tell (`choice_problems` with the UI's themes and bindings).
    """
    file = path or paths.config_file()
    parts = _split_key(key)
    if _looks_like_api_key(value):
        raise ConfigError(
            f"{key}: refusing to write what looks like an API key to {file}; batchboard never stores keys. "
            "Export the key as an environment variable and name it in profiles.NAME.api_key_env"
        )
    doc = _document_for_update(file)
    before = _checked(doc, file, check)[1]
    _assign(doc, parts, _parse_value(parts, value))
    return _write_validated(doc, file, parts, before, check)


def unset_setting(key: str, path: Path | None = None, check: Check | None = None) -> Settings:
    """Remove one (dotted) key from the file so it returns to its default. Missing keys are not an error."""
    file = path or paths.config_file()
    parts = _split_key(key)
    doc = _document_for_update(file)
    before = _checked(doc, file, check)[1]
    parents: list[dict[str, Any]] = [doc]
    for part in parts[:-1]:
        child = parents[-1].get(part)
        if not isinstance(child, dict):
            return load_settings(file)[0]
        parents.append(child)
    if parts[-1] not in parents[-1]:
        return load_settings(file)[0]
    del parents[-1][parts[-1]]
    # Drop tables the removal left empty, so the file does not fill with [profiles.old] husks.
    for depth in range(len(parents) - 1, 0, -1):
        if not parents[depth]:
            del parents[depth - 1][parts[depth - 1]]
    return _write_validated(doc, file, parts, before, check)


def _checked(doc: Mapping[str, Any], file: Path, check: Check | None) -> tuple[Settings, list[ConfigProblem]]:
    settings, problems = _validate(doc, file)
    return settings, problems + (check(settings, file) if check is not None else [])


def _split_key(key: str) -> list[str]:
    if API_KEY_PREFIX in key:
        # Checked first, so no message below can echo the secret back to the terminal.
        raise ConfigError(
            "refusing a setting name that contains what looks like an API key (not shown); "
            "batchboard never stores keys"
        )
    head, _, rest = key.strip().partition(".")
    if head in _NUMBERS or head in _WHOLE_NUMBERS or head in _STRINGS:
        if rest:
            raise ConfigError(f"{key}: {head} is a single value, not a table; use '{head}'")
        return [head]
    if head == "keymap":
        if not rest:
            raise ConfigError(
                f"{key}: keymap is a table; set one binding, for example keymap.dashboard.cancel"
            )
        return [head, rest]
    if head in ("profiles", "prices"):
        # The middle part is a name that may itself contain dots (model ids), so split at the last dot.
        name, _, leaf = rest.rpartition(".")
        if not name or not leaf:
            example = "profiles.NAME.api_key_env" if head == "profiles" else "prices.MODEL.input"
            raise ConfigError(f"{key}: {head} is a table of tables; set one value, for example {example}")
        return [head, name, leaf]
    raise ConfigError(f"{key}: unknown setting {_quote(head)}{_suggest(head, KNOWN_KEYS, 'settings')}")


def _parse_value(parts: list[str], text: str) -> Any:
    numeric = parts[0] in _NUMBERS or parts[0] in _WHOLE_NUMBERS or parts[0] == "prices"
    if numeric:
        try:
            number = float(text)
        except ValueError:
            return text  # validation then reports "expected a number ..., got "text""
        return int(number) if number.is_integer() and math.isfinite(number) else number
    return text.strip()


def _assign(doc: dict[str, Any], parts: list[str], value: Any) -> None:
    table = doc
    for part in parts[:-1]:
        child = table.get(part)
        if not isinstance(child, dict):
            child = table[part] = {}
        table = child
    table[parts[-1]] = value


def _document_for_update(file: Path) -> dict[str, Any]:
    doc, problem = _read_document(file)
    if problem is not None:
        raise ConfigError(f"{problem}; fix or remove the file before setting values with batchboard")
    if isinstance(doc.get("keymap"), dict):
        doc["keymap"] = _flatten(doc["keymap"])  # one spelling per binding id, so set/unset find it
    return doc


def _write_validated(
    doc: dict[str, Any], file: Path, parts: list[str], before: list[ConfigProblem], check: Check | None = None
) -> Settings:
    """Write `doc` unless it has a problem with the key being changed or a problem it did not have before.

    Old problems elsewhere do not block: the user may be fixing a broken file one key at a time.
    """
    settings, problems = _checked(doc, file, check)
    dotted = ".".join(parts)
    old_keys = {p.key for p in before}
    blocking = [
        p for p in problems if p.key == dotted or dotted.startswith(p.key + ".") or p.key not in old_keys
    ]
    if blocking:
        raise ConfigError("; ".join(f"{p.key}: {p.message}" for p in blocking))
    _atomic_write(file, _dump(doc))
    return settings


def _dump(doc: dict[str, Any]) -> str:
    import tomli_w  # only needed when writing

    return tomli_w.dumps(doc)


def _atomic_write(file: Path, text: str) -> None:
    """Write the config file whole or not at all, 0600 (private, like all of batchboard's files), in a
    directory made 0700 if it is new."""
    from batchboard.core import fsio  # only needed when writing

    fsio.write_atomic(file, text, mode=fsio.PRIVATE_FILE)


# ---------------------------------------------------------------------------------------------- showing


def effective_settings_table(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, value, source) rows for `batchboard config`; source is "file" or "default"."""

    def source(key: str) -> str:
        return "file" if key in settings.from_file else "default"

    rows: list[tuple[str, str, str]] = []
    for key in ("poll_interval", "theme", "default_model", "expiry_warning_hours", "expiry_critical_hours"):
        value = getattr(settings, key)
        rows.append((key, _number(value) if isinstance(value, float) else value, source(key)))
    rows.append(("default_profile", settings.default_profile or "(none)", source("default_profile")))
    days = settings.fetch_results_days
    rows.append(("fetch_results_days", f"{days}" if days else "0 (off)", source("fetch_results_days")))

    if settings.keymap:
        rows += [(f"keymap.{k}", v, source(f"keymap.{k}")) for k, v in sorted(settings.keymap.items())]
    else:
        rows.append(("keymap", "(built-in bindings)", "default"))

    if settings.profiles:
        for name, profile in sorted(settings.profiles.items()):
            prefix = f"profiles.{name}"
            rows.append((f"{prefix}.api_key_env", profile.api_key_env, source(f"{prefix}.api_key_env")))
            rows.append(
                (f"{prefix}.base_url", profile.base_url or "(SDK default)", source(f"{prefix}.base_url"))
            )
    else:
        rows.append(("profiles", f"(none: the key comes from {DEFAULT_KEY_ENV})", "default"))

    if settings.prices:
        for model, table in sorted(settings.prices.items()):
            rows += [
                (f"prices.{model}.{k}", _number(v), source(f"prices.{model}.{k}"))
                for k, v in sorted(table.items())
            ]
    else:
        rows.append(("prices", "(built-in prices)", "default"))
    return rows


# ---------------------------------------------------------------------------------------------- helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _looks_like_api_key(value: Any) -> bool:
    """Anything with a key in it, anywhere (a key pasted into a base_url is still a key)."""
    return isinstance(value, str) and API_KEY_PREFIX in value


_KEY_PATTERN = re.compile(re.escape(API_KEY_PREFIX) + r"[^\s.\"'\]\[,;:/?#&=]*")


def _hide_keys(text: str) -> str:
    """`text` (a message, a dotted key, a table name) with any API key in it replaced: never echoed."""
    return _KEY_PATTERN.sub("<API key, not shown>", text) if API_KEY_PREFIX in text else text


def _number(value: float) -> str:
    return f"{value:g}"


def _quote(text: str) -> str:
    # JSON quoting escapes control characters, so a hostile value cannot reach the terminal raw.
    import json

    return json.dumps(text, ensure_ascii=False)


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _quote(name)


def _describe(value: Any) -> str:
    """How a bad value is quoted in a message: TOML-ish, and never an API key in clear."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "an API key (not shown)" if _looks_like_api_key(value) else _quote(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"  # TOML dates and times


def _suggest(word: str, choices: Iterable[str], listing: str | None = None) -> str:
    """ "; did you mean "x"?" for a close match, else (with `listing`) the known names, else nothing."""
    names = list(choices)
    matches = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if matches:
        return f"; did you mean {_quote(matches[0])}?"
    return f"; known {listing}: {', '.join(names)}" if listing else ""
