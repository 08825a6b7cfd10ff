"""`batchboard config`: show where config and data live and the effective settings; set or unset one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from batchboard.commands._results_common import one_line

if TYPE_CHECKING:
    from pathlib import Path

    from batchboard.core.config import Check, ConfigProblem, Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the config file, the data directory and the effective settings; set one",
        description=(
            "With no action, print the config file's path, the data directory and every setting with "
            "where its value comes from (file or default). API keys are never stored: a profile names "
            "the environment variable holding its key."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the same as JSON")
    parser.set_defaults(handler=show)
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION")

    set_parser = actions.add_parser(
        "set",
        help="write one setting to the config file",
        description=(
            "Write one setting, keeping the rest of the file. Nested keys are dotted: keymap.cancel, "
            "profiles.work.api_key_env, prices.claude-haiku-5-5.input."
        ),
    )
    set_parser.add_argument("key", metavar="KEY")
    set_parser.add_argument("value", metavar="VALUE")
    set_parser.set_defaults(handler=set_value)

    unset_parser = actions.add_parser("unset", help="remove one setting so it returns to its default")
    unset_parser.add_argument("key", metavar="KEY")
    unset_parser.set_defaults(handler=unset_value)

    path_parser = actions.add_parser("path", help="print the config file's path")
    path_parser.set_defaults(handler=show_path)


def show(args: argparse.Namespace) -> int:
    from batchboard.core import paths
    from batchboard.core.config import effective_settings_table, load_settings

    file = paths.config_file()
    settings, problems = load_settings(file)
    problems += _ui_check()(settings, file)  # themes and key bindings only the UI knows
    rows = effective_settings_table(settings)
    if args.json:
        document = {
            "config_file": str(file),
            "config_file_exists": file.exists(),
            "data_dir": str(paths.data_dir()),
            "database_file": str(paths.database_file()),
            "settings": [{"key": k, "value": v, "source": s} for k, v, s in rows],
            "problems": [str(p) for p in problems],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    state = "" if file.exists() else " (not created yet: every setting is a default)"
    print(f"config file: {one_line(str(file))}{state}")
    print(f"data dir:    {one_line(str(paths.data_dir()))}")
    print()
    width = max(len(one_line(k)) for k, _, _ in rows)
    value_width = max(len(one_line(v)) for _, v, _ in rows)
    for key, value, source in rows:
        print(f"{one_line(key):<{width}}  {one_line(value):<{value_width}}  {source}")
    for problem in problems:
        print(f"batchboard: {one_line(str(problem))}", file=sys.stderr)
    return 0


def set_value(args: argparse.Namespace) -> int:
    from batchboard.core import paths
    from batchboard.core.config import ConfigError, effective_settings_table, set_setting

    file = paths.config_file()
    try:
        settings = set_setting(args.key, args.value, file, check=_ui_check())
    except ConfigError as exc:
        print(f"batchboard config set: {one_line(str(exc))}", file=sys.stderr)
        return 2
    written = {k: v for k, v, _ in effective_settings_table(settings)}.get(args.key.strip(), args.value)
    print(f"{one_line(args.key.strip())} = {one_line(written)}  (written to {one_line(str(file))})")
    return 0


def unset_value(args: argparse.Namespace) -> int:
    from batchboard.core import paths
    from batchboard.core.config import ConfigError, unset_setting

    file = paths.config_file()
    try:
        unset_setting(args.key, file, check=_ui_check())
    except ConfigError as exc:
        print(f"batchboard config unset: {one_line(str(exc))}", file=sys.stderr)
        return 2
    print(f"{one_line(args.key.strip())} removed: back to its default  ({one_line(str(file))})")
    return 0


def _ui_check() -> Check:
    """The check of themes and keymap entries against the app's own. Textual and every screen's module,
    which the rest of the CLI never needs, are imported only for a config that names a theme or a keymap
    entry: a default one is checked with no such import."""
    from batchboard.core.config import names_ui_choices

    def check(settings: Settings, file: Path) -> list[ConfigProblem]:
        if not names_ui_choices(settings):
            return []
        from batchboard.ui.app import BatchboardApp
        from batchboard.ui.keymap_choices import check as against_the_app

        return against_the_app(settings, BatchboardApp, file)

    return check


def show_path(args: argparse.Namespace) -> int:
    from batchboard.core import paths

    print(paths.config_file())
    return 0
