# xray-trackbench: the user's verbs. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PY := .venv/bin/python
PROFILE ?= quick
DATA ?= $(firstword $(wildcard ../shared/datasets/covid19-image-dataset data/covid19-image-dataset) data/synthetic)
# train/sweep knobs: empty means config/train.yaml's value (50 epochs at 256 px)
EPOCHS ?=
IMAGE_SIZE ?=
TRIALS ?= 10
TRAIN_FLAGS = $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(IMAGE_SIZE),--image-size $(IMAGE_SIZE))

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -e '.[dev]'
	touch $@

.env: .env.example | .venv/.installed
	$(PY) -m infra init
	@touch $@

.PHONY: help
## List the verbs
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z0-9-]+:/{if(doc){split($$1,t,":"); printf "  make %-16s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

.PHONY: setup
## Install everything into .venv (torch, mlflow, wandb, test tools)
setup: .venv/.installed .env

.PHONY: up
## Start the stack: docker compose when a Docker engine answers, else the native stack
up: setup
	$(PY) -m infra up

.PHONY: down
## Stop the stack; its data is kept
down: setup
	$(PY) -m infra down

.PHONY: status
## Each service: up/down, health, URL, data folder
status: setup
	$(PY) -m infra status

.PHONY: ui
## Where the MLflow and W&B UIs are
ui: setup
	$(PY) -m infra ui

.PHONY: ui-tour
## Screenshots of the MLflow UI of the running stack into docs/ui (Debian chromium, headless)
ui-tour: up
	$(PY) -m benchmarks.scenarios.browser --out docs/ui

.PHONY: clean
## Stop the stack and DELETE its data (database, bucket, compose volumes)
clean: setup
	$(PY) -m infra clean

.PHONY: data
## Generate a synthetic data set in data/synthetic (for machines without the real one)
data: setup
	$(PY) -m trainer make-data --out data/synthetic --per-class 60 --size 256

.PHONY: data-kaggle
## Download the real data set from Kaggle (your ~/.kaggle/kaggle.json) into data/covid19-image-dataset and check it
data-kaggle: setup
	$(PY) -m trainer.kaggle --out data/covid19-image-dataset

.PHONY: train
## Train once on DATA (EPOCHS=, IMAGE_SIZE=: default 50 at 256 px; TRACKER=none|mlflow|wandb|both); prints a time estimate first on a CPU
train: setup
	$(PY) -m trainer train --data "$(DATA)" --tracker $(or $(TRACKER),none) $(TRAIN_FLAGS) --system-metrics

.PHONY: benchmark
## Measure what each tracker costs and write results/latest/comparison_report.md (PROFILE=quick|full)
benchmark: up
	$(PY) -m benchmarks run --profile $(PROFILE)

.PHONY: experiments
## Train each setting of config/experiments.yaml on both trackers, then print a table
experiments: up
	WANDB_SILENT=true $(PY) -m trainer experiments --data "$(DATA)" --system-metrics

.PHONY: sweep
## Search config/sweep.yaml with Optuna, trials logged to both trackers (TRIALS=10, EPOCHS=, IMAGE_SIZE=, TRACKER=both); prints a time estimate first on a CPU
sweep: up
	WANDB_SILENT=true $(PY) -m trainer sweep --data "$(DATA)" --tracker $(or $(TRACKER),both) --trials $(TRIALS) $(TRAIN_FLAGS) --system-metrics

.PHONY: test
## Run the whole test suite (starts the native stack it needs)
test: setup
	$(PY) -m pytest tests

.PHONY: test-faults
## Only the fault tests: servers killed, long outages, crashed trainers, resume
test-faults: setup
	$(PY) -m pytest tests/test_reliability.py

.PHONY: pull-check
## Compose: pull every image and list the digest each pinned tag resolved to (needs Docker)
pull-check: setup
	$(PY) -m infra pull-check

.PHONY: train-container
## Compose: train once in the trainer container (GPU when present) on DATA_DIR of .env (TRACKER=mlflow|wandb|both)
train-container: up
	$(PY) -m infra train-container $(or $(TRACKER),both)
.PHONY: gpu-wheels
## Download the W&B and mlflow-skinny wheels for a GPU machine without network (docs/gpu/README.md)
gpu-wheels: setup
	PY=$(PY) bash benchmarks/gpu_wheels.sh
.PHONY: k8s-env
## Write deploy/k8s/base/.env (git-ignored) from the stack's .env: the Kubernetes Secret's source
k8s-env: .env
	grep -E '^(POSTGRES_USER|POSTGRES_DB|POSTGRES_PASSWORD|S3_BUCKET|S3_ACCESS_KEY|S3_SECRET_KEY|MLFLOW_SECRET_KEY|WANDB_API_KEY)=' .env > deploy/k8s/base/.env

.PHONY: k8s-render
## Print the Kubernetes manifests of an overlay (OVERLAY=laptop|cluster); apply with kubectl apply -k
k8s-render: setup k8s-env
	.venv/bin/kubectl kustomize deploy/k8s/overlays/$(or $(OVERLAY),laptop)

.PHONY: results-prune
## Remove old benchmark results folders, keeping the newest KEEP (default 5) and results/latest
results-prune: setup
	$(PY) -m benchmarks prune --keep $(or $(KEEP),5)

.PHONY: wandb-setup
## Compose: the W&B server's first start, guided (admin account, licence, API key read from stdin and checked)
wandb-setup: setup
	$(PY) -m infra.wandb_setup

.PHONY: k8s-images
## Kubernetes: build the mlflow, trainer and minio images and load them into kind/minikube (REGISTRY=... pushes instead)
k8s-images: setup
	$(PY) -m infra.k8s_images

.PHONY: report-sample
## Write the committed sample report and its plots (docs/report/) from a results folder: make report-sample RUN=results/<id>
report-sample:
	$(PY) -m benchmarks report $(or $(RUN),results/latest) --out $(or $(OUT),docs/report) --sample

.PHONY: benchmark-step
## Only the per-step logging cost (paired blocks in one process, calibration arms included) (PROFILE=quick|full)
benchmark-step: up
	$(PY) -m benchmarks run --profile $(PROFILE) --scenario step

.PHONY: notebooks
## Open JupyterLab on notebooks/ from the project's environment (make up and a training run first; LAB_FLAGS= passes flags)
notebooks: setup
	$(PY) -m jupyterlab --notebook-dir=notebooks $(LAB_FLAGS)

.PHONY: notebooks-render
## Run the notebooks against the stack and write them, with their outputs, to docs/notebooks/ (Markdown + images)
notebooks-render: up
	$(PY) -m notebooks.render
