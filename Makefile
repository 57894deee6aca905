# Everything a fresh machine needs: `make demo` (install + built-in demo), `make test` (install + lint + tests).
# `make test-fast` skips the slow tests (soak, browsers, Ray, real-footage evaluations); `make lint` is
# ruff (lint and format check) and mypy; `make docs` regenerates docs/presets.md from the declarations.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint docs bench install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(VENV)/bin/litecam demo --out out/demo.mp4

# Window tests need Xvfb and xdotool (Debian packages): installed here when we are root (or have
# sudo); without them those tests skip with the reason.
system-deps:
	-@bash tools/install_system_deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) system-deps lint
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

docs: $(STAMP)
	$(PY) -m pipeline.settings > docs/presets.md

bench: $(STAMP)
	mkdir -p out
	$(PY) -m tools.bench --repeat 5 --overlay --json out/bench.json

clean:
	rm -rf $(VENV) out .pytest_cache
