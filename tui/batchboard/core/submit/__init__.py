"""Submitting batches: validating and chunking a JSONL file, estimating its cost, recording the intent and
every request before the create (crash-safe), and attaching local files to batches sent elsewhere."""
