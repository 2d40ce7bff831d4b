# xray-trackbench: the user's verbs. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PY := .venv/bin/python
PROFILE ?= quick
DATA ?= $(firstword $(wildcard ../shared/datasets/covid19-image-dataset) data/synthetic)

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
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){split($$1,t,":"); printf "  make %-12s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

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

.PHONY: clean
## Stop the stack and DELETE its data (database, bucket, compose volumes)
clean: setup
	$(PY) -m infra clean

.PHONY: data
## Generate a synthetic data set in data/synthetic (for machines without the real one)
data: setup
	$(PY) -m trainer make-data --out data/synthetic --per-class 60 --size 256

.PHONY: train
## Train once on $(DATA) with the defaults of config/train.yaml (TRACKER=none|mlflow|wandb|both)
train: setup
	$(PY) -m trainer train --data "$(DATA)" --tracker $(or $(TRACKER),none) --system-metrics

.PHONY: benchmark
## Measure what each tracker costs and write results/latest/comparison_report.md (PROFILE=quick|full)
benchmark: up
	$(PY) -m benchmarks run --profile $(PROFILE)

.PHONY: experiments
## Train each setting of config/experiments.yaml on both trackers, then print a table
experiments: up
	WANDB_SILENT=true $(PY) -m trainer experiments --data "$(DATA)" --system-metrics

.PHONY: sweep
## Search config/sweep.yaml with Optuna, trials logged to both trackers (TRIALS=10, TRACKER=both)
sweep: up
	WANDB_SILENT=true $(PY) -m trainer sweep --data "$(DATA)" --tracker $(or $(TRACKER),both) --trials $(or $(TRIALS),10) --system-metrics

.PHONY: test
## Run the whole test suite (starts the native stack it needs)
test: setup
	$(PY) -m pytest tests

.PHONY: test-faults
## Only the fault tests: servers killed, long outages, crashed trainers, resume
test-faults: setup
	$(PY) -m pytest tests/test_reliability.py
