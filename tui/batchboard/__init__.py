"""batchboard: a keyboard-driven terminal dashboard for Anthropic's Message Batches API."""

__version__ = "0.1.0"
