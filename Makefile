# The two commands that do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-e2e bench install system-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@scripts/system-deps.sh

run: install
	$(PY) -m bff init
	$(VENV)/bin/honcho start

test: install system-deps
	$(VENV)/bin/ruff check bff api contract serving tests e2e bench examples
	$(VENV)/bin/ruff format --check bff api contract serving tests e2e bench examples
	$(PY) -m mypy
	$(PY) -m pytest tests
	$(PY) -m pytest e2e

test-unit: install
	$(PY) -m pytest tests

test-e2e: install system-deps
	$(PY) -m pytest e2e

bench: install
	WITH_WRK=1 scripts/system-deps.sh
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .cache
