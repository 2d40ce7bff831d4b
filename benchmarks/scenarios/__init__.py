"""One module per benchmark figure family; each has `run(ctx) -> scenario dict`
and `weight(profile)`, a rough cost used for the progress bar's time left."""
from benchmarks.scenarios import api_calls, load, macro, micro, query, setup, step, storage

SCENARIOS = {"setup": setup, "micro": micro, "step": step, "macro": macro, "api_calls": api_calls,
             "storage": storage, "query": query, "load": load}
