"""A local emulator of the Anthropic API (Message Batches, Messages with streaming, token counting, models).

It shares nothing with the client but the wire format: no SDK, no Textual, no `batchboard.core` imports.
"""

from __future__ import annotations

from batchboard.emulator.emulator import Emulator
from batchboard.emulator.faults import Fault
from batchboard.emulator.settings import EmulatorSettings

__all__ = ["Emulator", "EmulatorSettings", "Fault"]
