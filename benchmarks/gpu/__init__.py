"""The GPU check: the trainer on a CUDA device (precision, channels-last, determinism, logging cost),
written to gpu_check.json and gpu_check.md; `python -m benchmarks gpu-check`."""
