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

.PHONY: help
## List the verbs
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){split($$1,t,":"); printf "  make %-12s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

.PHONY: setup
## Install everything into .venv (torch, mlflow, wandb, test tools)
setup: .venv/.installed

.PHONY: data
## Generate a synthetic data set in data/synthetic (for machines without the real one)
data: setup
	$(PY) -m trainer make-data --out data/synthetic --per-class 60 --size 256

.PHONY: train
## Train once on $(DATA) with the defaults of config/train.yaml (TRACKER=none|mlflow|wandb|both)
train: setup
	$(PY) -m trainer train --data "$(DATA)" --tracker $(or $(TRACKER),none)

.PHONY: test
## Run the whole test suite (starts the native stack it needs)
test: setup
	$(PY) -m pytest tests
