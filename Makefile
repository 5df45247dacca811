# The two commands of the quick start: `make run` and `make test`.
# Both set themselves up: a virtual environment in .venv, installed from pyproject.toml.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test lint bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "opsbackend needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import opsbackend.app, pytest"
	touch $(INSTALLED)

## make run: migrate a local SQLite database, load the demo data, serve on PORT (8000)
## with the scheduler in the same process and SMS written to the console.
run: $(INSTALLED)
	$(BIN)/opsbackend db upgrade
	$(BIN)/opsbackend seed-demo
	$(BIN)/opsbackend serve --with-scheduler

## make test: ruff, then the suite on SQLite, then on PostgreSQL when reachable
## (REQUIRE_POSTGRES=1 makes an unreachable PostgreSQL a failure).
test: $(INSTALLED) lint
	$(BIN)/pytest --db sqlite
	@if $(BIN)/python -m tests.databases; then \
		$(BIN)/pytest --db postgres; \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "FAILED: PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable at $${TEST_POSTGRES_URL:-the local server}"; \
		exit 1; \
	else \
		echo "PostgreSQL not reachable: the PostgreSQL run was skipped (set REQUIRE_POSTGRES=1 to fail instead)"; \
	fi

## make lint: ruff; the compose file against the Compose Specification's JSON schema (shipped
## in check-jsonschema: no network) and the Dockerfile through hadolint (no Docker daemon).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml
	$(BIN)/hadolint docker/Dockerfile

## make bench: the benchmarks (not part of make test); they need PostgreSQL.
bench: $(INSTALLED)
	@for script in tests/bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
