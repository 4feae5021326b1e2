# cxscore: two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.8
# uv from PATH, else a private copy bootstrapped with pip into .cxscore/tools
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.cxscore/tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The tests run in two pytest-xdist workers (a fresh database each, tests/conftest.py), whole
# files per worker (module fixtures are built once): about half the wall time on 2 cores.
# PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= 2
PYTEST_XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)
PY_DIRS := $(wildcard src tests dags benchmarks)

.PHONY: help setup demo test test-long test-fast lint format bench fuzz compose-test clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.cxscore/tools/bin/uv:
	$(PYTHON) -m venv .cxscore/tools
	.cxscore/tools/bin/pip install --quiet uv==$(UV_VERSION)

# --compile-bytecode: write every package's .pyc at install time. Python only reads them at
# import; where PYTHONDONTWRITEBYTECODE is set (as on this project's CI machines) it would
# otherwise compile Airflow, dbt and GX from source in every process, every time
# (docs/performance.md, "Bytecode"). The Makefile is a prerequisite so that a change to this
# command re-syncs an existing .venv.
$(VENV)/.installed: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install the locked dependency set (idempotent)
	@# cxscore itself is installed editable (src/), which --compile-bytecode leaves out: where
	@# PYTHONDONTWRITEBYTECODE is set, every process (each extract worker, each task) compiled
	@# its modules from source, about 1 s of a run's fixed cost (docs/performance.md,
	@# "Bytecode"); a no-op when the .pyc files are current
	@$(BIN)/python -m compileall -q src dags

demo: setup ## Run the whole pipeline on an embedded warehouse and a synthetic world
	$(BIN)/cxscore demo

test: setup lint ## Lint, type-check and run the tests against real PostgreSQL/dbt/GX/Airflow (all but `long`)
	$(BIN)/pytest -m "not long" $(PYTEST_XDIST) $(PYTEST_ARGS)

test-long: setup ## The long end-to-end tests left out of make test (CI budget): concurrent writers
	$(BIN)/pytest -m long $(PYTEST_ARGS)

test-fast: setup ## Tests without the slow end-to-end ones
	$(BIN)/pytest -m "not slow" $(PYTEST_XDIST) $(PYTEST_ARGS)

lint: setup ## ruff (lint + format check) and mypy on src/
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy

format: setup ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix $(PY_DIRS)
	$(BIN)/ruff format $(PY_DIRS)

bench: setup ## Benchmarks: ratios against baselines measured in the same run (docs/performance.md)
	$(BIN)/python -m benchmarks

# The long fuzz campaign (the bounded one is in `make test`): CX_BENCH_FUZZ_INPUTS per parser
# (default 20,000), CX_BENCH_FUZZ_SEED; failing inputs are kept in reports/bench/fuzz-failures.
fuzz: setup ## Fuzz every parser: inputs tried and failures per parser (docs/operating.md)
	CX_BENCH_ONLY=bench_fuzz $(BIN)/python -m benchmarks

# Opt-in, not part of `make test`: needs a Docker engine (as root on Debian it installs and
# starts one) and 20-30 minutes on 2 busy cores (tests/compose/compose_test.py, docs/operating.md).
compose-test: setup ## Run docker-compose.yml for real: 2 Celery workers, both DAGs, a worker killed
	$(BIN)/python tests/compose/compose_test.py

clean: ## Remove local state (.cxscore: embedded warehouse, airflow home) and the venv
	-$(BIN)/python -c "import pgserver; pgserver.get_server('.cxscore/pg', cleanup_mode='stop').cleanup()" 2>/dev/null
	rm -rf .cxscore $(VENV) reports
