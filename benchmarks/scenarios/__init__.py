"""The scenarios (each module one, with its helpers beside it), registered once in
benchmarks/scenarios/registry.py. This package imports nothing, so a helper run as a process
(`python -m benchmarks.scenarios.load_writer`) starts without the others."""
