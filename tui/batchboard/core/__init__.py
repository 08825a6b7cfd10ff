"""The core: API access, polling, local store, config, pricing. Knows nothing of Textual."""
