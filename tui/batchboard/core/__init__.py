"""The core: everything that is not the screen, by capability (gateway, results, submit, chat, and single
modules for the rest). Knows nothing of Textual or Rich."""
