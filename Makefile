# The two commands that do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the front-end tools (Biome, axe-core), pinned by frontend/package-lock.json
NODE_MODULES := frontend/node_modules
NODE_STAMP := $(NODE_MODULES)/.installed
# lint + format check of the browser JS (frontend/biome.json)
BIOME_CI := cd frontend && node_modules/.bin/biome ci --error-on-warnings static/js tests
# the JS client's contract in Node's own runner (its BroadcastChannels would keep it running)
JS_TESTS := cd frontend && node --test --test-force-exit --test-timeout=10000 tests/

.PHONY: run test test-unit test-e2e lint-js test-js bench install system-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NODE_STAMP)

install: $(STAMP)

system-deps:
	@scripts/system-deps.sh

run: install
	$(PY) -m bff init
	$(VENV)/bin/honcho start

test: install $(NODE_STAMP) system-deps
	$(VENV)/bin/ruff check bff api contract serving tests e2e bench examples
	$(VENV)/bin/ruff format --check bff api contract serving tests e2e bench examples
	$(PY) -m mypy
	$(BIOME_CI)
	$(JS_TESTS)
	$(PY) -m pytest tests
	$(PY) -m pytest e2e

test-unit: install
	$(PY) -m pytest tests

lint-js: $(NODE_STAMP)
	$(BIOME_CI)

test-js: $(NODE_STAMP)
	$(JS_TESTS)

test-e2e: install $(NODE_STAMP) system-deps
	$(PY) -m pytest e2e

bench: install
	WITH_WRK=1 scripts/system-deps.sh
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(NODE_MODULES) .pytest_cache .cache
