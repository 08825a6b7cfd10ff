"""Every call to the official `anthropic` SDK, and `errors.classify`, the one reading of what went wrong.

Nothing here imports the SDK when imported: the SDK loads (about two seconds) only when a client is made.
"""
