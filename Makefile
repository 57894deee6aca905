# Everything a fresh machine needs: `make demo` (install + built-in demo), `make test` (install + tests).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install system-deps clean

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

test: $(STAMP) system-deps
	$(PY) -m pytest -q

bench: $(STAMP)
	mkdir -p out
	$(PY) -m tools.bench --repeat 5 --overlay --json out/bench.json

clean:
	rm -rf $(VENV) out .pytest_cache
