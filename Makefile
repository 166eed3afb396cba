# Two entry points: `make run` starts the bot on its embedded defaults,
# `make test` runs the test suite. Both create the virtual environment first.

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python bot.py $(ARGS)

demo: $(VENV)/.runtime
	$(BIN)/python scripts/demo.py

test: $(VENV)/.test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache
