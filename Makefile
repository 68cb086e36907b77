# Everyday commands. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	sh scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	mkdir -p demo
	$(BIN)/metagenx examples copy X-ray_Reflectivity.hgx demo/
	$(BIN)/metagenx solve demo/X-ray_Reflectivity.hgx --budget 60 --seed 1 --out demo/solve/X-ray_Reflectivity.hgx

lint: $(STAMP)
	$(BIN)/ruff check metagenx tests bench
	$(BIN)/ruff format --check metagenx tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	sh scripts/install-system-deps.sh test
	$(BIN)/pytest -q --durations=15

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/fit_vs_genx.py

clean:
	rm -rf $(VENV) demo test-artifacts .mypy_cache .ruff_cache .pytest_cache
