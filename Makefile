# One task runner: CI calls these targets, the README names them.
PY ?= .venv/bin/python
VENV := .venv

.PHONY: install lint typecheck test bench demo check

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

typecheck: install
	$(PY) -m mypy

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/run_all.py

demo: install
	$(VENV)/bin/claude-router demo

check: lint typecheck test
