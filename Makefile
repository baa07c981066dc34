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

.PHONY: help demo test test-fast test-newest lock sample bench bench-predict bench-serving bench-onnx bench-drift bench-governance bench-spark clean

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

test: $(VENV)/.installed ## The template's full test suite (what CI runs); installs Java and PostgreSQL when missing
	bash scripts/system-packages.sh
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed ## Skip the tests that install and run baked projects
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

lock: $(VENV)/.installed ## Re-resolve the generated project's uv.lock for every Python version
	$(BIN)/python scripts/lock.py

test-newest: ## The newest versions pyproject.toml allows (make lock), the packages that moved, then the suite (CI, nightly)
	$(MAKE) lock
	$(BIN)/python scripts/lock.py --changes | tee -a "$${GITHUB_STEP_SUMMARY:-/dev/null}"
	$(MAKE) test

bench: $(VENV)/.installed ## Measure bake time (results go in README.md)
	$(BIN)/python bench/bake.py

# The other benchmarks measure a project baked with the defaults into bench/.work/, with its pipeline run once.
BENCH_WORK := $(CURDIR)/bench/.work
BENCH_PROJECT := $(BENCH_WORK)/flight-delays
BENCH_PYTHON = BENCH_PROJECT=$(BENCH_PROJECT) $(BENCH_PROJECT)/.venv/bin/python

$(BENCH_PROJECT)/mlflow.db: | $(VENV)/.installed
	rm -rf $(BENCH_PROJECT) && mkdir -p $(BENCH_WORK)
	XDG_DATA_HOME=$(BENCH_WORK)/share $(BIN)/cookiecutter . --no-input --output-dir $(BENCH_WORK)
	$(MAKE) -C $(BENCH_PROJECT) setup pipeline UV=$(BIN)/uv

bench-predict: $(BENCH_PROJECT)/mlflow.db ## Batch inference vs a hand-written baseline, 1M and 10M rows (docs/benchmarks.md)
	$(BENCH_PYTHON) bench/predict_throughput.py

bench-serving: $(BENCH_PROJECT)/mlflow.db ## The project's server (ONNX, scikit-learn) vs `mlflow models serve`, 1 and 8 clients
	$(BENCH_PYTHON) bench/serving_throughput.py

bench-onnx: $(BENCH_PROJECT)/mlflow.db ## The champion's ONNX export vs scikit-learn: one-row latency, batch throughput
	$(BENCH_PYTHON) bench/onnx_flavour.py

bench-drift: $(BENCH_PROJECT)/mlflow.db ## Drift statistics vs Evidently, 1M rows x 20 features (docs/benchmarks.md)
	$(BENCH_PYTHON) bench/drift_speed.py --uv $(BIN)/uv

bench-governance: $(BENCH_PROJECT)/mlflow.db ## Gate time with and without fairness, SHAP and the model card (docs/benchmarks.md)
	$(BENCH_PYTHON) bench/governance_gate.py

# The Spark benchmark measures a second project, baked with engine=spark, its pipeline run on local Spark.
BENCH_SPARK_PROJECT := $(BENCH_WORK)/spark/flight-delays

$(BENCH_SPARK_PROJECT)/mlflow.db: | $(VENV)/.installed
	rm -rf $(BENCH_SPARK_PROJECT) && mkdir -p $(BENCH_WORK)/spark
	XDG_DATA_HOME=$(BENCH_WORK)/share $(BIN)/cookiecutter . --no-input --output-dir $(BENCH_WORK)/spark engine=spark
	$(MAKE) -C $(BENCH_SPARK_PROJECT) setup pipeline UV=$(BIN)/uv

bench-spark: $(BENCH_SPARK_PROJECT)/mlflow.db ## Batch scoring on Spark local[2] vs the pandas engine, 1M and 10M rows (needs Java)
	BENCH_PROJECT=$(BENCH_SPARK_PROJECT) nice -n 19 $(BENCH_SPARK_PROJECT)/.venv/bin/python bench/spark_throughput.py

clean: ## Remove the virtual environment, the demo and the benchmarks' work folder
	rm -rf $(VENV) $(DEMO_DIR) $(BENCH_WORK)
