# Two commands set up everything on a fresh machine:
#   make demo   installs newscrawl in .venv and crawls the bundled demo site
#   make test   installs newscrawl with its test tools in .venv and runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test bench clean-output

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/newscrawl demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.extraction
	$(BIN)/python bench/cruft.py
	$(BIN)/python bench/throughput.py
