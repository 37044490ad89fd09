# Two commands do all the set-up on a fresh machine (see README):
#   make verify   the main job: the theorem regression and its report in reports/latest/
#   make test     every test: unit tests, strategy meta-tests, negative controls, properties
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2

# One BLAS thread per process: the suite runs one process per core (pytest-xdist), and
# oversubscribed OpenBLAS threads made small SVDs 100x slower in a measurement here.
export OPENBLAS_NUM_THREADS := 1

.PHONY: install verify test bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

verify: $(STAMP)
	$(BIN)/ntpverify verify --jobs $(JOBS)

# Static checks first (seconds), then every test under the derandomized ci profile: the README's
# test command gives the same verdict on every run and every machine (the dev profile is random:
# for iterating with pytest directly).
test: $(STAMP)
	$(BIN)/ruff check ntpverify
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(JOBS) --hypothesis-profile ci tests properties

bench: $(STAMP)
	$(BIN)/python -m benchmarks
