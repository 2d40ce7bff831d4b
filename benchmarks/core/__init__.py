"""The model and statistics every other part stands on: typed records and quantities, statistics,
results.json, the environment stamp, the run profiles."""
