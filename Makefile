# Two commands for a newcomer: `make demo` and `make test`. Only Python 3.11+ and make are
# needed: uv is bootstrapped into .venv-uv/ when it is not on PATH.
SHELL := /bin/bash
PYTHON ?= python3
# a bootstrapped uv goes on PATH too: the demo and tests build wheels with it
export PATH := $(CURDIR)/.venv-uv/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo .venv-uv/bin/uv)
export MLFLOW_DISABLE_TELEMETRY := true
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test lint bench clean cluster cluster-down cluster-test cluster-bench

.venv-uv/bin/uv:
	$(PYTHON) -m venv .venv-uv
	.venv-uv/bin/pip install --quiet --disable-pip-version-check "uv>=0.9"

setup: $(if $(findstring .venv-uv,$(UV)),.venv-uv/bin/uv)
	@bash .ci/bubblewrap  # third-party plugins run only in bubblewrap boxes
	$(UV) sync --all-packages --frozen

demo: setup
	$(UV) run --frozen tracer demo

test: setup
	$(UV) run --frozen pytest -n 2 --dist loadgroup

# ruff, mypy (mypy.ini) and import-linter's layer contracts (root pyproject.toml); the same
# three run from .pre-commit-config.yaml
lint: setup
	$(UV) run --frozen ruff check core plugins registry tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

# MLflow's full package (the serving baseline) shares files with mlflow-skinny: it gets its own
# environment, so removing it later can never break the main one
bench: setup
	UV_PROJECT_ENVIRONMENT=.venv-bench $(UV) sync --all-packages --frozen --group bench
	UV_PROJECT_ENVIRONMENT=.venv-bench $(UV) run --frozen --group bench python bench/serving.py
	UV_PROJECT_ENVIRONMENT=.venv-bench $(UV) run --frozen --group bench python bench/ledger.py
	UV_PROJECT_ENVIRONMENT=.venv-bench $(UV) run --frozen --group bench python bench/runner.py

# The scale-out shape on this machine as separate processes (docs/deploy.md): PostgreSQL,
# an MLflow tracking server, CLUSTER_WORKERS API workers behind HAProxy, Dask. Idempotent.
CLUSTER_WORKERS ?= 2
cluster: setup
	CLUSTER_WORKERS=$(CLUSTER_WORKERS) bash deploy/cluster/up

cluster-down:
	bash deploy/cluster/down

# the tenant journey and the fault tests against the running cluster's balancer
cluster-test: setup
	source .tracer/cluster/env && TRACER_CLUSTER_REQUIRED=1 \
	  $(UV) run --frozen pytest -p no:xdist -m cluster tests/cluster

cluster-bench: setup
	source .tracer/cluster/env && $(UV) run --frozen python bench/cluster.py

clean:
	rm -rf .venv .venv-uv .venv-bench .tracer
