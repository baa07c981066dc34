# cookiecutter-mlops-gitops: `make demo` bakes and runs a demo project, `make test` runs the template's tests.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
DEMO_DIR := $(CURDIR)/demo
DEMO := $(DEMO_DIR)/flight-delays
PYTEST_ARGS ?=

export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1

.PHONY: help demo test test-fast lock sample bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.9,<0.14"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	@touch $@

demo: $(VENV)/.installed ## Bake a project with the defaults into demo/ and run it end to end
	rm -rf $(DEMO)
	$(BIN)/cookiecutter . --no-input --output-dir $(DEMO_DIR)
	$(MAKE) -C $(DEMO) setup demo UV=$(BIN)/uv

test: $(VENV)/.installed ## The template's full test suite (what CI runs)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed ## Skip the tests that install and run baked projects
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

lock: $(VENV)/.installed ## Re-resolve the generated project's uv.lock for every Python version
	$(BIN)/python scripts/lock.py

bench: $(VENV)/.installed ## Measure bake time (results go in README.md)
	$(BIN)/python bench/bake.py

clean: ## Remove the virtual environment and the demo
	rm -rf $(VENV) $(DEMO_DIR)
