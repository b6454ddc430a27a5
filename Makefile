# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080

.PHONY: run test check docs lint typecheck clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: start hookport with the example plugin on 127.0.0.1:$(PORT) (make run PORT=9000)
# The example's "dev" channel posts to its own /notify route, so it follows the port.
run: $(STAMP)
	HOOKPORT_CHANNELS__DEV=json://127.0.0.1:$(PORT)/notify \
	$(BIN)/hookport serve --config examples/hookport.toml --host 127.0.0.1 --port $(PORT)

## test: lint, type-check and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/mypy --strict src/hookport
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/pytest

## docs: build the documentation site into site/ (strict: a broken link fails)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

check: test

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site
