# Two commands set up everything on a fresh machine:
#   make demo   installs newscrawl in .venv and crawls the bundled demo site
#   make test   installs newscrawl with its test tools in .venv and runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# Chromium, for the outlets whose record says `render` and for their tests: Debian's
# package (Playwright's own browser downloads are not used).
CHROMIUM ?= $(or $(NEWSCRAWL_CHROMIUM_PATH),/usr/bin/chromium)

.PHONY: install chromium demo test bench clean-output

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Installs Chromium with apt when it is missing and apt is there (as root, or through
# sudo without a password); otherwise says so, and the rendering tests are skipped.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make: no Chromium at $(CHROMIUM) and no apt-get to install it: install Chromium (or set NEWSCRAWL_CHROMIUM_PATH); the rendering tests are skipped" >&2; \
	else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -qq chromium >/dev/null \
	  || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make: could not install Chromium with apt-get: the rendering tests are skipped" >&2; \
	fi

demo: install
	$(BIN)/newscrawl demo

test: install chromium
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.extraction
	$(BIN)/python bench/cruft.py
	$(BIN)/python bench/throughput.py
