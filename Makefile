# The two commands of the README: `make run` (set up, then ask the bundled interviews) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test lint typecheck unit bench bench-ingest clean

$(VENV)/.installed: pyproject.toml
	python3.11 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch, pinned, before anything can pull a CUDA one.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/citeqa ask

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q

test: lint typecheck unit

bench: setup
	$(PY) bench/core.py

# Ingest throughput on COVID-QA's 98 long papers vs raw model.encode, and the unchanged re-ingest (~5 min CPU).
COVIDQA ?= ../shared/bench/covidqa/200423_covidQA.json
bench-ingest: setup
	$(PY) bench/ingest_speed.py --squad $(COVIDQA)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
