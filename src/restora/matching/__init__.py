"""Project library matched to finance supply."""
