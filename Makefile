# Two commands do all the set-up on a fresh machine:
#   make verify   the main job
#   make test     every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: verify test install bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

install: $(STAMP)

verify: $(STAMP)
	$(BIN)/ntpverify verify

test: $(STAMP)
	$(BIN)/python -m pytest -q tests properties -n 2

bench: $(STAMP)
	$(BIN)/python -m benchmarks
