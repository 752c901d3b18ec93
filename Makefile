# gridmap developer entry points.  `make test` works from a fresh clone: it installs the
# Debian packages (scripts/system-deps.sh), creates .venv and installs the project.
#
# Variables: HOST/PORT (make demo), PYTEST_ARGS (make test), PYTHON (force the
# interpreter used to create .venv), GRIDMAP_SKIP_SYSTEM_DEPS=1 (skip the apt check).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Prerequisites are listed in the order they must run (system deps before the venv).
.NOTPARALLEL:

VENV        := .venv
VENV_PY     := $(VENV)/bin/python
STAMP       := $(VENV)/.gridmap-installed
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=
PYTHON      ?=

# The sqlite3 module must allow loading mod_spatialite.  Debian's /usr/bin/python3 does;
# many pyenv/uv builds do not (compiled without loadable extension support).
PY_OK := import sqlite3, sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) and hasattr(sqlite3.connect(":memory:"), "enable_load_extension") else 1)

PIP_FLAGS := --disable-pip-version-check
ifneq ($(filter true 1,$(CI)),)
PIP_FLAGS += --progress-bar off --no-input
endif

.PHONY: help system-deps venv install demo test lint bench clean distclean

help:
	@echo "make install   system packages + .venv + pip install -e '.[dev]'"
	@echo "make test      install, lint-imports, ruff check, ruff format --check, mypy, pytest \$$PYTEST_ARGS"
	@echo "make demo      install, build the demo SpatiaLite file and serve it on \$$HOST:\$$PORT ($(HOST):$(PORT))"
	@echo "make lint      ruff check ."
	@echo "make bench     run bench/run_all.sh"
	@echo "make clean     remove caches and test artifacts (distclean also removes .venv)"

system-deps:
	@bash scripts/system-deps.sh

# (Re)create .venv unless it exists with a suitable interpreter.
venv:
	@if [ -x "$(VENV_PY)" ] && "$(VENV_PY)" -c '$(PY_OK)' 2>/dev/null; then exit 0; fi; \
	chosen=""; \
	for py in $(PYTHON) /usr/bin/python3 python3; do \
	    if command -v "$$py" >/dev/null 2>&1 && "$$py" -c '$(PY_OK)' 2>/dev/null; then \
	        chosen="$$(command -v "$$py")"; break; \
	    fi; \
	done; \
	if [ -z "$$chosen" ]; then \
	    echo "make venv: no usable Python found (tried: $(strip $(PYTHON) /usr/bin/python3 python3))." >&2; \
	    echo "make venv: need Python >= 3.11 whose sqlite3 supports enable_load_extension" >&2; \
	    echo "make venv: (for SpatiaLite) and with the venv module: on Debian install python3-venv" >&2; \
	    echo "make venv: (scripts/system-deps.sh) and use /usr/bin/python3, or pass PYTHON=..." >&2; \
	    exit 1; \
	fi; \
	if [ -e "$(VENV)" ]; then echo "make venv: replacing $(VENV) (its Python cannot load SQLite extensions)"; rm -rf "$(VENV)"; fi; \
	echo "make venv: creating $(VENV) with $$chosen ($$("$$chosen" -V 2>&1))"; \
	"$$chosen" -m venv "$(VENV)"

# Re-install only when pyproject.toml or constraints.txt changed (the stamp lives inside
# .venv, so a recreated venv is re-installed too). constraints.txt pins every package to the
# versions the tests passed with: installs are reproducible.
$(STAMP): pyproject.toml constraints.txt | venv
	"$(VENV_PY)" -m pip install $(PIP_FLAGS) -q --upgrade pip
	"$(VENV_PY)" -m pip install $(PIP_FLAGS) -q -c constraints.txt -e '.[dev]'
	@touch "$@"

install: system-deps venv $(STAMP)

demo: install
	"$(VENV)/bin/gridmap" demo --host "$(HOST)" --port "$(PORT)"

test: install
	"$(VENV)/bin/lint-imports"
	"$(VENV)/bin/ruff" check .
	"$(VENV)/bin/ruff" format --check .
	"$(VENV)/bin/mypy"
	bash scripts/test-backends.sh "$(VENV_PY)" $(PYTEST_ARGS)

lint: install
	"$(VENV)/bin/ruff" check .
	"$(VENV)/bin/ruff" format --check .

bench: install
	@if [ -f bench/run_all.sh ]; then bash bench/run_all.sh; else echo "make bench: no bench/run_all.sh, nothing to run"; fi

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist test-artifacts *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf "$(VENV)"
