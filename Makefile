# Tenure: the two commands a newcomer needs are `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Tenure needs Python 3.11"'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/tenure demo

# one test process per core, at most four (each takes a Redis database of its own, 15 down to
# 12); each test file runs whole in one process, so its module fixtures are built once
test: setup
	$(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadfile

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: setup
	$(BIN)/python -m bench

docs: setup
	$(BIN)/tenure docs data-model --out docs/data-model.md

clean:
	rm -rf $(VENV) tenure-data .pytest_cache .mypy_cache .ruff_cache
