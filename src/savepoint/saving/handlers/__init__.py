"""One handler per user-visible format: naming + byte format + storage."""
