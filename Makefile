# myorl: `make demo` trains the demo curriculum, `make test` runs the tests; both install first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0   # the CPU wheel first, so nothing pulls a CUDA build
	$(PY) -m pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m myorl.run +curriculum=demo

test: install
	$(PY) -m pytest -n 2 --timeout 900 --durations=25

test-fast: install
	$(PY) -m pytest -n 2 -m "not slow"

lint: install
	$(VENV)/bin/ruff check myorl tests bench hydra_plugins
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) outputs multirun
