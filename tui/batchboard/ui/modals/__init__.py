"""Modal dialogs: cancel confirmation and label input."""
