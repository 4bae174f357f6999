# Every target creates .venv first when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= prod

.PHONY: preview test lint format render bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

preview: $(VENV)/.installed
	$(PY) -m fleet preview --stack $(STACK)

render: $(VENV)/.installed
	$(PY) -m fleet render --stack $(STACK)

test: $(VENV)/.installed
	$(PY) -m pytest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
