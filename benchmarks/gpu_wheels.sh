#!/usr/bin/env bash
# Download, here, the wheels the GPU check carries to a GPU machine without network (Python 3.12,
# x86-64): W&B 0.31.0 and mlflow-skinny 3.17.2 with everything they need,
# resolved together so each package comes in one version. Into wheels/ (git-ignored);
# Copy it to the GPU machine beside the checkout. About 38 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
rm -rf wheels && mkdir wheels
"$PY" -m pip download --quiet --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d wheels wandb==0.31.0 mlflow-skinny==3.17.2
# the set must install from this folder alone, as it will there
"$PY" -m pip install --quiet --dry-run --ignore-installed --no-index --find-links wheels --only-binary=:all: \
  --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
  --target /tmp/gpu-wheels-dry-run wandb==0.31.0 mlflow-skinny==3.17.2
echo "wheels/: $(ls wheels | wc -l) wheels, $(du -sh wheels | cut -f1)"
