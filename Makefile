# Two commands for a fresh clone: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA := $(CURDIR)/.data
export DAGSTER_HOME := $(DATA)/dagster_home

.PHONY: install demo test test-full dev bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## make demo: set up, start the embedded PostgreSQL, upgrade its schema, seed it if empty, run the main job.
demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/channel-assets demo run

## make test: set up and run the representative suite (2 workers) on an embedded PostgreSQL, or on the
## server CHANNEL_ASSETS_TEST_PG names.
test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -n 2 -m "not slow" channel_assets_tests

## make test-full: every trial, the long ones included.
test-full: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -n 2 channel_assets_tests

## make dev: the Dagster UI on http://127.0.0.1:3000 with the demo settings and the local emulator.
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/channel-assets dev

bench: install
	$(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check channel_assets channel_assets_tests bench
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(DATA)
