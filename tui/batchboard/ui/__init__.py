"""The Textual UI: app, screens, widgets, modals and `.tcss` styles. Never speaks HTTP."""
