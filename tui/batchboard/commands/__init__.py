"""Subcommands of the `batchboard` CLI.

Each module exposes `register(subparsers)`, which adds its parser and sets `handler`; modules import
nothing heavy at import time (no SDK, no Textual), so `batchboard --help` stays instant.
"""

from __future__ import annotations

from types import ModuleType


def all_commands() -> list[ModuleType]:
    """Every subcommand module, in `--help` order. Imported on call: opening the dashboard
    (`commands.dashboard`) must not load them all."""
    from batchboard.commands import batches, config, cost, emulator, job, label, results, submit, wait

    return [emulator, config, batches, label, results, cost, submit, wait, job]
