# codetap: `make demo` sets up and runs the demo; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test protocol-check pytest vscode lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@# bytecode for the editable package even where PYTHONDONTWRITEBYTECODE is set:
	@# without it every codetap process compiles its modules again at start-up
	$(PY) -m compileall -q server/codetap
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/codetap demo

test: setup protocol-check pytest vscode

protocol-check: setup
	$(PY) scripts/gen_protocol.py --check

pytest: setup
	$(PY) -m pytest -q -p no:cacheprovider

vscode:
	@if [ -x clients/vscode/ci.sh ]; then clients/vscode/ci.sh; else echo "clients/vscode/ci.sh missing: skipped"; fi

lint: setup
	$(VENV)/bin/ruff check server tests bench

typecheck: setup
	$(PY) -m mypy server/codetap

clean:
	rm -rf $(VENV) clients/vscode/node_modules clients/vscode/out
