"""Reusable widgets: the batch table and the header summary."""
