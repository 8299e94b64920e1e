# The two set-up commands of the README call these targets:
#   make demo   — install into .venv (first run only) and run the main job on the embedded SQLite store
#   make test   — install into .venv (first run only) and run lint, types, layering and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install system-deps

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (fonts for Chinese charts and PDFs, Chromium for the web UI tests).
# Installed only where missing and only when we are root (as on CI and the developers' machines).
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP) system-deps
	$(VENV)/bin/restora demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest -q -p no:cacheprovider --doctest-modules src/restora --ignore=src/restora/store/migrations
	$(VENV)/bin/pytest -q
