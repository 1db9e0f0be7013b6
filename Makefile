# The two commands a new user needs: `make demo` and `make test`.
# Everything is installed into .venv by these targets; nothing is expected on the machine
# except Python 3.10+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: install lint typecheck test test-fast demo bench faults clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check airflow_provider_posthog_recordings tests example_dags benchmarks

typecheck: install
	$(BIN)/mypy airflow_provider_posthog_recordings

test: lint typecheck
	$(BIN)/python -m pytest -q

# Without the whole-DAG runs (the slowest tests).
test-fast: lint typecheck
	$(BIN)/python -m pytest -q -m "not dagrun"

demo: install
	$(BIN)/python scripts/demo.py

# The long run (benchmarks/long_run.py) simulates hours of PostHog's key budget in seconds;
# N=100,000 took 18 minutes of real time on 2 shared cores, so it runs on request:
#   make bench LONG_RUN_N=10000,100000
LONG_RUN_N ?= 10000

bench: install
	$(BIN)/python -m benchmarks.long_run --n $(LONG_RUN_N) --json bench-results-long-run.json
	$(BIN)/python -m benchmarks.purge

faults: install
	$(BIN)/python -m tests.reliability.run_schedules --schedules 500

clean:
	rm -rf airflow_home .demo .pytest_cache .ruff_cache .mypy_cache *.egg-info
