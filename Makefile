# Set-up, run, test and lint. Every target builds or refreshes .venv by itself.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export QT_QPA_PLATFORM ?= offscreen

.PHONY: all venv run sim test lint bench clean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opsconsole needs Python >= 3.11")'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[test,tools]'
	@touch $(STAMP)

venv: $(STAMP)

# Until the window lands, `make run` starts the reference backend and prints where it listens.
run: $(STAMP)
	$(VENV)/bin/opsconsole --demo

sim: $(STAMP)
	$(VENV)/bin/opsconsole-sim --port 8080

test: $(STAMP)
	$(VPY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(VPY) bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
