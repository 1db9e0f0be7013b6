# The two commands a new user needs: `make demo` and `make test`.
# Everything is installed into virtualenvs by these targets; nothing is expected on the
# machine except Python 3.10+ and make.
#
#   .venv            Airflow 3.3.2, the package and the emulator editable, the dev tools
#   .venv-airflow2   the lowest versions declared in pyproject.toml (Airflow 2.11.0,
#                    common-compat 1.22.0, requests, pydantic) and the BUILT WHEELS
#
# Both are installed from committed constraints files (constraints/*.txt: every package
# pinned, as Airflow itself is installed), so a release of any dependency cannot change
# what `make test` tests. `make test-latest` floats them on purpose; `make constraints`
# moves the pins forward from a green install (README, 'Moving the pins forward').
#
# Two distributions are built from this repository: the provider (./, the runtime wheel) and
# the PostHog emulator (./emulator, posthog-recordings-emulator, the provider's extra
# [testing]); the provider's wheel carries no emulator.

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
EMULATOR_SOURCES := $(shell find emulator/posthog_recordings_emulator -type f -not -path '*__pycache__*')
EMULATOR_WHEEL   := dist/posthog_recordings_emulator-$(shell sed -n 's/^version = "\(.*\)"/\1/p' emulator/pyproject.toml)-py3-none-any.whl
LINTED    := airflow_provider_posthog_recordings emulator tests example_dags benchmarks scripts docs \
	vulture_whitelist.py
# Full constraints files (every package pinned) the two test environments are installed from.
# Set empty (as test-latest and constraints do) to install the newest releases instead.
CONSTRAINTS_AF3 ?= constraints/airflow3.txt
CONSTRAINTS_AF2 ?= constraints/airflow2.txt
# Caps on known breaks, applied when the Airflow 2.11 environment is floated for new pins.
KNOWN_BREAKS_AF2 := constraints/known-breaks-airflow2.txt
# The constraints file the environment must match exactly (tests/unit/test_constraints.py).
PINNED_AF3 ?= $(CONSTRAINTS_AF3)
PINNED_AF2 ?= $(CONSTRAINTS_AF2)
PINS_AF3   = $(if $(CONSTRAINTS_AF3),-c $(CONSTRAINTS_AF3))
PINS_AF2   = $(if $(CONSTRAINTS_AF2),-c $(CONSTRAINTS_AF2))
# Run checks from outside the source tree, so that only the installed wheel can be imported.
OUTSIDE   := $(shell mktemp -d -u /tmp/posthog-provider-check.XXXXXX)

.PHONY: install browser distributed test-distributed lint typecheck docs test test-fast test-airflow3 test-airflow2 test-system \
	check-wheel wheel sdist demo bench faults mutation clean test-latest constraints

$(STAMP): pyproject.toml emulator/pyproject.toml $(CONSTRAINTS_AF3)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip $(PINS_AF3)
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ./emulator -e ".[dev,testing,distributed]" $(PINS_AF3)
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
# missing, as root (CI); the Python side is the optional extra "distributed" (in .venv with the
# others, pinned by constraints/airflow3.txt). Root is needed
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
	@touch $(DIST_STAMP)

distributed: $(DIST_STAMP)

# Postgres, Redis, api-server, scheduler, dag-processor, triggerer and two Celery workers as
# processes, started and stopped by the tests (about 5 minutes). Logs of a failed run are kept
# in .distributed/.
test-distributed: distributed
	$(BIN)/python -m pytest -q -m distributed tests/system/distributed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/vulture

typecheck: install
	$(BIN)/mypy airflow_provider_posthog_recordings emulator/posthog_recordings_emulator

# The documentation (docs/, Sphinx from the dev extra): nitpicky, every warning an error, a
# fresh build each time. Open docs/_build/html/index.html.
docs: install
	$(BIN)/sphinx-build -E -n -W --keep-going -q -b html docs docs/_build/html

# The wheels users would install (pip wheel: no extra build tool needed).
$(WHEEL): $(STAMP) $(SOURCES) pyproject.toml LICENSE README.md MANIFEST.in
	rm -rf build dist/airflow_provider_posthog_recordings-*.whl
	$(BIN)/python -m pip wheel $(PIP_FLAGS) --no-deps -w dist .
	@test -f $(WHEEL)

$(EMULATOR_WHEEL): $(STAMP) $(EMULATOR_SOURCES) emulator/pyproject.toml emulator/README.md
	rm -rf emulator/build dist/posthog_recordings_emulator-*.whl
	$(BIN)/python -m pip wheel $(PIP_FLAGS) --no-deps -w dist ./emulator
	rm -rf emulator/build
	@test -f $(EMULATOR_WHEEL)

wheel: $(WHEEL) $(EMULATOR_WHEEL)

sdist: install
	$(BIN)/python -m pip install $(PIP_FLAGS) build
	$(BIN)/python -m build --sdist --outdir dist .

# Airflow 2.11 with exactly the declared lower bounds (scripts/lower_bounds.py reads them
# from pyproject.toml), from nothing but Python; everything else from constraints/airflow2.txt.
$(AF2_STAMP): pyproject.toml scripts/lower_bounds.py $(CONSTRAINTS_AF2)
	@test -x $(AF2_VENV)/bin/python || $(PYTHON) -m venv $(AF2_VENV)
	$(PYTHON) scripts/lower_bounds.py > $(LOWEST)
	$(AF2_VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip $(PINS_AF2)
	$(AF2_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-compile -r $(LOWEST) $(TEST_TOOLS) $(PINS_AF2)
	@touch $(AF2_STAMP)

# The built wheels, checked from outside the source tree (scripts/check_install.py; it also
# checks that the provider's wheel holds no emulator and no schema data, and that the
# emulator's wheel holds its schema data and starts):
# - Airflow 2.11.0: both pip-installed into .venv-airflow2 (the provider's [testing] extra
#   resolved to the built emulator wheel), the lower bounds pinned by constraint (a wheel that needs more fails here);
# - Airflow 3: .venv's Airflow, the wheels pip-installed with --target into a folder that
#   comes first on sys.path, so the wheels, not .venv's editable installs, are what is found.
check-wheel: $(WHEEL) $(EMULATOR_WHEEL) $(AF2_STAMP)
	mkdir -p $(OUTSIDE)
	$(AF2_VENV)/bin/python -m pip uninstall $(PIP_FLAGS) -y airflow-provider-posthog-recordings \
		posthog-recordings-emulator
	$(AF2_VENV)/bin/python -m pip install $(PIP_FLAGS) -c $(LOWEST) $(PINS_AF2) \
		"airflow-provider-posthog-recordings[testing] @ file://$(CURDIR)/$(WHEEL)" \
		$(CURDIR)/$(EMULATOR_WHEEL)
	cd $(OUTSIDE) && AIRFLOW_HOME=$(OUTSIDE)/airflow2 AIRFLOW__CORE__LOAD_EXAMPLES=False \
		$(CURDIR)/$(AF2_VENV)/bin/python $(CURDIR)/scripts/check_install.py
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps --target $(OUTSIDE)/wheel \
		$(CURDIR)/$(WHEEL) $(CURDIR)/$(EMULATOR_WHEEL)
	cd $(OUTSIDE) && PYTHONPATH=$(OUTSIDE)/wheel AIRFLOW_HOME=$(OUTSIDE)/airflow3 \
		AIRFLOW__CORE__LOAD_EXAMPLES=False $(CURDIR)/$(BIN)/python $(CURDIR)/scripts/check_install.py
	rm -rf $(OUTSIDE)

# Everything on Airflow 3, the system tier included (tests/system: api-server, scheduler,
# dag-processor and triggerer as processes, from this venv).
test-airflow3: install browser
	CHROMIUM=$(CHROMIUM) POSTHOG_TEST_CONSTRAINTS=$(PINNED_AF3) $(BIN)/python -m pytest -q

# The suite on the lowest supported versions, without the whole-DAG runs; the system tier
# runs here on Airflow 2.11 (scheduler and triggerer as processes, from .venv-airflow2),
# without the browser tier (Airflow 3's UI; no Playwright in this venv).
test-airflow2: check-wheel
	POSTHOG_TEST_CONSTRAINTS=$(PINNED_AF2) \
		$(AF2_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not dagrun and not browser"

# Only the system tier, on both versions one after the other.
test-system: install browser check-wheel
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -m system
	$(AF2_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "system and not browser"

# Airflow 3 and Airflow 2.11 side by side (both mostly wait on I/O: installs, the emulator,
# Airflow's schedulers).
# Then the distributed tier alone (two Celery workers, Postgres and Redis: it needs the
# machine to itself more than the others do).
test: lint typecheck docs
	$(MAKE) --no-print-directory -j2 --output-sync=target test-airflow3 test-airflow2
	$(MAKE) --no-print-directory test-distributed

# Without the whole-DAG runs and the system tier (the slowest tests), on Airflow 3 only.
test-fast: lint typecheck
	$(BIN)/python -m pytest -q -m "not dagrun and not system"

# Both suites with nothing pinned but this package's declared bounds (pyproject.toml): the
# newest release of everything else, in their own virtualenvs, made anew each time. Not part
# of `make test` or CI; run it before a release, so that a break from a new release of a
# dependency is found on purpose, not by a user (README, 'Moving the pins forward').
LATEST_VENVS := VENV=.venv-latest AF2_VENV=.venv-latest-airflow2
test-latest:
	rm -rf .venv-latest .venv-latest-airflow2
	$(MAKE) --no-print-directory $(LATEST_VENVS) CONSTRAINTS_AF3= CONSTRAINTS_AF2= \
		test-airflow3 test-airflow2

# New constraints files from a green install: both environments made anew with the newest
# releases (Airflow 2.11's known breaks capped: $(KNOWN_BREAKS_AF2)), the whole suite run on
# each, and only then every package's version written to constraints/*.txt.
NEXT_VENVS := VENV=.venv-next AF2_VENV=.venv-next-airflow2
constraints:
	rm -rf .venv-next .venv-next-airflow2
	$(MAKE) --no-print-directory $(NEXT_VENVS) CONSTRAINTS_AF3= CONSTRAINTS_AF2=$(KNOWN_BREAKS_AF2) PINNED_AF2= \
		test-airflow3 test-airflow2
	$(PYTHON) scripts/freeze_constraints.py .venv-next constraints/airflow3.txt \
		"the Airflow 3 test environment (.venv): the newest Airflow, the package's dev extras"
	$(PYTHON) scripts/freeze_constraints.py .venv-next-airflow2 constraints/airflow2.txt \
		"the Airflow 2.11 test environment (.venv-airflow2): the declared lower bounds, the test tools"

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
	rm -rf mutants airflow_home .demo browser-artifacts .distributed .pytest_cache .ruff_cache .mypy_cache *.egg-info build dist \
		emulator/*.egg-info emulator/build docs/_build
