# Set-up, run, test and lint. Every target builds or refreshes .venv by itself.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp


.PHONY: all venv run sim test lint bench clean system-deps

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opsconsole needs Python >= 3.11")'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[test,tools]'
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages the integration tests start: the real Prometheus and Alertmanager.
# Installed only when missing (needs root or sudo); without them those tests skip on a
# laptop and fail under CI=true.
SYSTEM_BINARIES := prometheus prometheus-alertmanager
system-deps:
	@missing=""; for b in $(SYSTEM_BINARIES); do command -v $$b >/dev/null || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The console on the built-in demo backend (a reference backend on a free loopback port).
run: $(STAMP)
	$(VENV)/bin/opsconsole --demo

sim: $(STAMP)
	$(VENV)/bin/opsconsole-sim --port 8080

# Tests and benchmarks run without a screen; `make run` keeps the real display.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
