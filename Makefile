# The two commands of the quick start: `make run` and `make test`.
# Both set themselves up: a virtual environment in .venv, installed from pyproject.toml.

# The first Python >= 3.11 on PATH. Probed quietly: a pyenv shim for a version that is
# not selected answers "command not found" on stderr, which is not an error here.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	>/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: what running needs (make run), and that plus the test tools (make test).
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test lint bench fuzz schemathesis clean chromium

# The board's browser tests drive Debian's Chromium (Playwright downloads no browser here).
CHROMIUM := /usr/bin/chromium

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "opsbackend needs Python 3.11 or newer on PATH"; exit 1; }
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

# pip's own chatter (and setuptools' editable-install notice) goes to a log, shown only
# when the install fails.
$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "installing opsbackend into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip > $(VENV)/install.log 2>&1 \
		&& $(BIN)/python -m pip install $(PIP_FLAGS) -e . >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/python -c "import opsbackend.app"
	@touch $(INSTALLED)

$(DEV_INSTALLED): $(INSTALLED)
	@echo "installing the test tools into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]' >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/python -c "import opsbackend.app, pytest"
	@touch $(DEV_INSTALLED)

## make run: migrate a local SQLite database, load the demo data, serve on PORT (8000)
## with the scheduler in the same process and SMS written to the console.
run: $(INSTALLED)
	$(BIN)/opsbackend db upgrade
	$(BIN)/opsbackend seed-demo
	$(BIN)/opsbackend demo-sign-ins
	$(BIN)/opsbackend serve --with-scheduler

# Schemathesis against the live app (tests/fuzz.py): make test's short seeded run (~80 s,
# a third of it starting the server), and make fuzz's long one.
SCHEMATHESIS_SHORT := --examples 5 --phases examples,fuzzing
SCHEMATHESIS_LONG := --examples 200 --phases examples,fuzzing,stateful

## make test: ruff, then the suite on SQLite, then on PostgreSQL when reachable
## (REQUIRE_POSTGRES=1 makes an unreachable PostgreSQL a failure), then schemathesis.
## Each run spreads over PYTEST_WORKERS processes (pytest-xdist): most of a test's time is
## spent waiting on the database, a served subprocess or a fake, so 4 keep 2 cores busy.
PYTEST_WORKERS ?= 4
test: $(DEV_INSTALLED) lint chromium
	$(BIN)/pytest --db sqlite -n $(PYTEST_WORKERS)
	@if $(BIN)/python -m tests.databases; then \
		$(BIN)/pytest --db postgres -n $(PYTEST_WORKERS); \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "FAILED: PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable at $${TEST_POSTGRES_URL:-the local server}"; \
		exit 1; \
	else \
		echo "PostgreSQL not reachable: the PostgreSQL run was skipped (set REQUIRE_POSTGRES=1 to fail instead)"; \
	fi
	@$(MAKE) --no-print-directory schemathesis SCHEMATHESIS_ARGS="$(SCHEMATHESIS_SHORT)"

## make schemathesis: schemathesis against the live app, on PostgreSQL when reachable (else
## SQLite); its last line is JSON: operations, cases, server_errors, schema_violations, seconds.
schemathesis: $(DEV_INSTALLED)
	@if $(BIN)/python -m tests.databases; then db=postgres; else db=sqlite; fi; \
		echo "schemathesis against the live app on $$db"; \
		$(BIN)/python -m tests.fuzz --db $$db $(SCHEMATHESIS_ARGS)

## make fuzz: the long schemathesis run (a few hundred examples per operation, every phase).
fuzz: $(DEV_INSTALLED)
	@$(MAKE) --no-print-directory schemathesis SCHEMATHESIS_ARGS="$(SCHEMATHESIS_LONG)"

## make chromium: install Debian's chromium when it is missing and we are root; otherwise
## the browser tests skip themselves and say how to install it.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "installing chromium for the browser tests (apt-get; log: var/apt-chromium.log)"; \
			mkdir -p var; \
			{ apt-get install -y --no-install-recommends chromium \
			  || { apt-get update && apt-get install -y --no-install-recommends chromium; }; } \
			  > var/apt-chromium.log 2>&1 || { cat var/apt-chromium.log; exit 1; }; \
		else \
			echo "$(CHROMIUM) is missing: the browser tests will be skipped (as root: apt-get install chromium)"; \
		fi; \
	fi

## make lint: ruff; the compose file against the Compose Specification's JSON schema (shipped
## in check-jsonschema: no network) and the Dockerfile through hadolint (no Docker daemon).
lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml
	$(BIN)/hadolint docker/Dockerfile

## make bench: the benchmarks (not part of make test); they need PostgreSQL.
bench: $(DEV_INSTALLED)
	@for script in tests/bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
