# The two commands a new user needs: `make demo` and `make test`.
# Everything is installed into virtualenvs by these targets; nothing is expected on the
# machine except Python 3.10+ and make.
#
#   .venv            Airflow 3 (the newest), the package editable, the dev tools
#   .venv-airflow2   the lowest versions declared in pyproject.toml (Airflow 2.11.0,
#                    common-compat 1.22.0, requests, pydantic) and the BUILT WHEEL

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP_FLAGS ?= --quiet --disable-pip-version-check

AF2_VENV  := .venv-airflow2
AF2_STAMP := $(AF2_VENV)/.installed-stamp
LOWEST    := $(AF2_VENV)/lower-bounds.txt
TEST_TOOLS := "pytest>=8" "pytest-mock>=3.12" "pytest-asyncio>=0.23" "pytest-timeout>=2.3"
SOURCES   := $(shell find airflow_provider_posthog_recordings -name '*.py' -o -name py.typed)
WHEEL     := dist/airflow_provider_posthog_recordings-$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)-py3-none-any.whl
# Run checks from outside the source tree, so that only the installed wheel can be imported.
OUTSIDE   := $(shell mktemp -d -u /tmp/posthog-provider-check.XXXXXX)

.PHONY: install browser distributed test-distributed lint typecheck test test-fast test-airflow3 test-airflow2 test-system \
	check-wheel wheel sdist demo bench faults mutation clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The browser tier (tests/system/test_ui_browser.py, Airflow 3 only) drives Debian's Chromium
# through Playwright (a dev extra); Playwright's own browsers are not downloaded. Installed with
# apt when missing and run as root (CI); otherwise this fails, naming what to do.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "The browser tier needs Chromium at $(CHROMIUM): sudo apt-get install -y chromium," \
			"or make ... CHROMIUM=/path/to/chromium" >&2; \
		exit 1; \
	fi
	@test -x $(CHROMIUM)

browser: $(STAMP) $(CHROMIUM)

# The distributed tier (tests/system/distributed, Airflow 3 only): Airflow's CeleryExecutor on
# Debian's Postgres (the metadata database) and Redis (the broker), installed with apt when
# missing, as root (CI); the Python side is the optional extra "distributed". Root is needed
# to run it too (each Celery worker gets namespaces of its own: unshare, mount).
DIST_STAMP := $(VENV)/.distributed-stamp
$(DIST_STAMP): $(STAMP)
	@missing=""; \
		ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
		command -v redis-server >/dev/null || missing="$$missing redis-server"; \
		if [ -n "$$missing" ]; then \
			if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
				apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
			else \
				echo "The distributed tier needs:$$missing: sudo apt-get install -y$$missing" >&2; \
				exit 1; \
			fi; \
		fi
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[dev,distributed]"
	@touch $(DIST_STAMP)

distributed: $(DIST_STAMP)

# Postgres, Redis, api-server, scheduler, dag-processor, triggerer and two Celery workers as
# processes, started and stopped by the tests (about 5 minutes). Logs of a failed run are kept
# in .distributed/.
test-distributed: distributed
	$(BIN)/python -m pytest -q -m distributed tests/system/distributed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check airflow_provider_posthog_recordings tests example_dags benchmarks

typecheck: install
	$(BIN)/mypy airflow_provider_posthog_recordings

# The wheel users would install (pip wheel: no extra build tool needed).
$(WHEEL): $(STAMP) $(SOURCES) pyproject.toml LICENSE README.md MANIFEST.in
	rm -rf build dist/*.whl
	$(BIN)/python -m pip wheel $(PIP_FLAGS) --no-deps -w dist .
	@test -f $(WHEEL)

wheel: $(WHEEL)

sdist: install
	$(BIN)/python -m pip install $(PIP_FLAGS) build
	$(BIN)/python -m build --sdist --outdir dist .

# Airflow 2.11 with exactly the declared lower bounds (scripts/lower_bounds.py reads them
# from pyproject.toml), from nothing but Python.
$(AF2_STAMP): pyproject.toml scripts/lower_bounds.py
	@test -x $(AF2_VENV)/bin/python || $(PYTHON) -m venv $(AF2_VENV)
	$(PYTHON) scripts/lower_bounds.py > $(LOWEST)
	$(AF2_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-compile -r $(LOWEST) $(TEST_TOOLS)
	@touch $(AF2_STAMP)

# The built wheel, checked from outside the source tree (scripts/check_install.py):
# - Airflow 2.11.0: pip-installed into .venv-airflow2, the lower bounds pinned by constraint
#   (a wheel that needs more fails here);
# - Airflow 3: .venv's Airflow, the wheel pip-installed with --target into a folder that
#   comes first on sys.path, so the wheel, not .venv's editable install, is what Airflow finds.
check-wheel: $(WHEEL) $(AF2_STAMP)
	mkdir -p $(OUTSIDE)
	$(AF2_VENV)/bin/python -m pip uninstall $(PIP_FLAGS) -y airflow-provider-posthog-recordings
	$(AF2_VENV)/bin/python -m pip install $(PIP_FLAGS) -c $(LOWEST) $(CURDIR)/$(WHEEL)
	cd $(OUTSIDE) && AIRFLOW_HOME=$(OUTSIDE)/airflow2 AIRFLOW__CORE__LOAD_EXAMPLES=False \
		$(CURDIR)/$(AF2_VENV)/bin/python $(CURDIR)/scripts/check_install.py
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps --target $(OUTSIDE)/wheel $(CURDIR)/$(WHEEL)
	cd $(OUTSIDE) && PYTHONPATH=$(OUTSIDE)/wheel AIRFLOW_HOME=$(OUTSIDE)/airflow3 \
		AIRFLOW__CORE__LOAD_EXAMPLES=False $(CURDIR)/$(BIN)/python $(CURDIR)/scripts/check_install.py
	rm -rf $(OUTSIDE)

# Everything on Airflow 3, the system tier included (tests/system: api-server, scheduler,
# dag-processor and triggerer as processes, from this venv).
test-airflow3: install browser
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q

# The suite on the lowest supported versions, without the whole-DAG runs; the system tier
# runs here on Airflow 2.11 (scheduler and triggerer as processes, from .venv-airflow2),
# without the browser tier (Airflow 3's UI; no Playwright in this venv).
test-airflow2: check-wheel
	$(AF2_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not dagrun and not browser"

# Only the system tier, on both versions one after the other.
test-system: install browser check-wheel
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -m system
	$(AF2_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "system and not browser"

# Airflow 3 and Airflow 2.11 side by side (both mostly wait on I/O: installs, the emulator,
# Airflow's schedulers).
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target test-airflow3 test-airflow2

# Without the whole-DAG runs and the system tier (the slowest tests), on Airflow 3 only.
test-fast: lint typecheck
	$(BIN)/python -m pytest -q -m "not dagrun and not system"

demo: install
	$(BIN)/python scripts/demo.py

# The long run (benchmarks/long_run.py) simulates hours of PostHog's key budget in seconds;
# N=100,000 took 18 minutes of real time on 2 shared cores, so it runs on request:
#   make bench LONG_RUN_N=10000,100000
LONG_RUN_N ?= 10000

bench: install
	$(BIN)/python -m benchmarks.long_run --n $(LONG_RUN_N) --json bench-results-long-run.json
	$(BIN)/python -m benchmarks.purge
	$(BIN)/python -m benchmarks.archive --n 200

faults: install
	$(BIN)/python -m tests.reliability.run_schedules --schedules 500

# Mutation testing (not part of `make test`): mutmut plants small bugs in the safety-critical
# modules listed under [tool.mutmut] in pyproject.toml (the retention rule, deletion
# accounting and settling, the retry decision, pagination, the key budget), runs their fast
# tests against each, then lists the survivors and prints the score per module
# (scripts/mutation_score.py); fails below 90% killed. About 5 minutes on 2 cores.
mutation: install
	@$(BIN)/python -c 'import mutmut' 2>/dev/null || \
		$(BIN)/python -m pip install $(PIP_FLAGS) "mutmut>=3.3,<4"
	rm -rf mutants
	$(BIN)/mutmut run
	@echo "Mutants not killed by a failing test (mutmut show <name> shows one):"
	@$(BIN)/mutmut results
	@$(BIN)/mutmut results --all true | $(BIN)/python scripts/mutation_score.py --min 90

clean:
	rm -rf mutants airflow_home .demo browser-artifacts .distributed .pytest_cache .ruff_cache .mypy_cache *.egg-info build dist
