"""Batch results: downloaded once per batch (`ingest`), kept as the raw JSONL plus an items file per batch
(`schema`, `writers`, `parse`), queried for triage (`index`) and costed for the app (`service`)."""
