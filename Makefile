# feedwatch: every target creates .venv and installs into it first; nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test run lint typecheck check bench fuzz model clean

$(STAMP): pyproject.toml scripts/install-venv.sh
	PYTHON=$(PYTHON) sh scripts/install-venv.sh $(VENV) dev editable
	touch $(STAMP)

## make demo: serve the offline mirror on 127.0.0.1 and fetch it into data/demo.db
demo: $(STAMP)
	$(BIN)/python demo/run.py

## make test: lint, type-check and run the whole test suite (SQLite and PostgreSQL)
test: $(STAMP)
	sh scripts/system-deps.sh
	$(BIN)/ruff check src tests demo bench fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	$(BIN)/python -m pytest -q

## make run: the daemon on config/feeds.yaml (needs internet access to reach the sources)
run: $(STAMP)
	$(BIN)/feedwatch run

## make bench: the benchmarks (writes bench/RESULTS.md); not part of make test
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py

## make fuzz: coverage-guided fuzzing of feed bytes -> items for FUZZ_SECONDS (default 120)
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]' || echo "atheris did not install: fuzzing by mutation"
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS)

## make model: retrain the topic model that ships in the package from ../shared/data (deterministic)
SHARED_DATA ?= ../shared/data
model: $(STAMP)
	FEEDWATCH_MODEL=none $(BIN)/feedwatch --topics src/feedwatch/data/topics.yaml train --no-store \
		--file $(SHARED_DATA)/topics-train.jsonl --file $(SHARED_DATA)/topics-dev.jsonl \
		--output src/feedwatch/data/topics-model.json

lint: $(STAMP)
	$(BIN)/ruff check src tests demo bench fuzz
	$(BIN)/ruff format --check src tests demo bench fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
