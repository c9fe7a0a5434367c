# Set-up, run, test and lint. Every target builds or refreshes .venv by itself.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp


.PHONY: all venv run sim test faults lint bench soak clean system-deps bundle bundle-deps install-desktop uninstall-desktop icons test-slow lab-patroni

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opsconsole needs Python >= 3.11")'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[test,tools]'
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests start (command:package): the real Prometheus and Alertmanager for
# the integration tests (VictoriaMetrics beside Prometheus, with its defaults), openssl for the
# self-signed certificates of the TLS tests, and a real X server (Xvfb) typed into by xdotool for the window tests
# that offscreen Qt cannot stand in for (quitting through the window system). Installed only
# when missing (needs root or sudo); without them those tests skip on a laptop and fail under
# CI=true. The libraries Qt's xcb plugin needs for a window come with them.
# The Patroni lab (tests/support/patronilab.py, `make lab-patroni`): Patroni with patronictl,
# etcd for its DCS, and PostgreSQL 15's server binaries, which Debian keeps off PATH.
SYSTEM_BINARIES := prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager \
	victoria-metrics:victoria-metrics Xvfb:xvfb xdotool:xdotool openssl:openssl \
	patroni:patroni patronictl:patroni etcd:etcd-server \
	/usr/lib/postgresql/15/bin/postgres:postgresql
system-deps:
	@missing=""; for pair in $(SYSTEM_BINARIES); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@packaging/display_deps.sh || echo "(only the tests on a real X server need these; they skip without)"

# The console on the built-in demo backend (a reference backend on a free loopback port).
# With a display, first the system libraries Qt needs for a window (installed when it can, else
# it says exactly what to install); with none, the console prints a status line instead.
run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then packaging/display_deps.sh; fi
	$(VENV)/bin/opsconsole --demo

sim: $(STAMP)
	$(VENV)/bin/opsconsole-sim --port 8080

# A real Patroni cluster (etcd, three members, PostgreSQL 15) on free loopback ports, the one
# the tests start; prints a config.toml for it and stops it on Ctrl+C (tools/lab_patroni.py).
lab-patroni: $(STAMP) system-deps
	$(VPY) tools/lab_patroni.py $(LAB_ARGS)

# Tests and benchmarks run without a screen; `make run` keeps the real display.
# `slow` tests (the desktop bundle build) stay out of the everyday run: `make test-slow`.
test: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider -m "not slow and not full_matrix"

# The whole fault matrix against the real window, one line per fault with its figures
# (`make test` runs its fast subset).
faults: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider -rN tests/ui/test_fault_matrix.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) bench/run.py

# One hour at 200 services and 1 Hz: the console (offscreen) against the reference backend in
# another process, RSS of both every 10 s into .soak/soak-full.csv, the verdict (growth after
# 5 minutes <= 10 MB/h each) in .soak/soak-full.json. SOAK_ARGS="--minutes 10" for a short one.
soak: $(STAMP)
	$(VPY) bench/soak.py $(SOAK_ARGS)

# The desktop app: a PyInstaller one-folder bundle in dist/opsconsole/ (packaging/opsconsole.spec).
BUNDLE_STAMP := $(VENV)/.bundle-stamp
BUNDLE_DIR   := dist/opsconsole

$(BUNDLE_STAMP): $(STAMP)
	$(VPY) -m pip install --quiet -e '.[test,tools,bundle]'
	@touch $(BUNDLE_STAMP)

# Libraries Qt's xcb plugin links that PyInstaller copies into the bundle from this machine
# (library:Debian package). Installed when missing so that the bundle runs on desktops that
# lack them; best effort (needs root or sudo), else the target machine needs them.
BUNDLE_LIBS := libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 \
	libxcb-keysyms.so.1:libxcb-keysyms1 libxkbcommon-x11.so.0:libxkbcommon-x11-0
bundle-deps: $(BUNDLE_STAMP)
	@ldconfig=$$(command -v ldconfig || echo /sbin/ldconfig); missing=""; \
	for pair in $(BUNDLE_LIBS); do \
	  $$ldconfig -p | grep -q "$${pair%%:*} " || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the bundle:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq --no-install-recommends $$missing; } \
	  || echo "warning: could not install$$missing: the bundle will need them on the target"; \
	fi

bundle: bundle-deps
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/opsconsole.spec
	@du -sm $(BUNDLE_DIR)

# Menu entry and icons for the current user ($XDG_DATA_HOME or ~/.local/share), Exec = the
# bundle's absolute path; builds the bundle first when there is none.
install-desktop:
	@test -x $(BUNDLE_DIR)/opsconsole || $(MAKE) bundle
	$(PYTHON) packaging/install_desktop.py --bundle $(BUNDLE_DIR)

uninstall-desktop:
	$(PYTHON) packaging/install_desktop.py --uninstall

# Re-render the PNG sizes of the app icon after editing its SVG.
icons: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) packaging/render_icons.py

# The slow tests: builds the bundle in a temporary folder and runs its self-test.
test-slow: bundle-deps
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider -m slow

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
