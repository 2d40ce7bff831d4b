"""The reading side: the headline rows, the report, its plots, `compare`, and the facts behind the verdict."""
