# panelmatch: the two commands of the README, and a few more for developers.
#   make demo   - set up .venv if needed, then run the demo end to end
#   make test   - set up .venv if needed, then lint, type-check, check the import contracts
#                 (the layers) and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench bench-matching bench-answers lock

# The browser tests drive Debian's chromium (never a browser downloaded at run time).
# Defined before the test rule, because make expands a rule's prerequisites as it reads it.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "panelmatch needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

demo: $(INSTALLED)
	$(BIN)/panel demo --fresh

test: $(INSTALLED) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto --dist loadgroup

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.ingest_benchmark

bench-matching: $(INSTALLED)
	$(BIN)/python -m benchmarks.matching_benchmark

bench-answers: $(INSTALLED)
	$(BIN)/python -m benchmarks.bench_answers

# After changing dependencies in pyproject.toml: pin them again.
lock:
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
