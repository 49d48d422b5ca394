# The front door: every target bootstraps .venv on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
NOX_ARGS ?=
DOCKERFILES := docker/Dockerfile sample_score/environment/Dockerfile

.PHONY: venv lint lint-run test unit matrix dist demo bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "secretinj-runtime needs Python >= 3.11 (set PYTHON=python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	@# Byte-compile, as a wheel install would: PYTHONDONTWRITEBYTECODE would leave none.
	$(BIN)/python -m compileall -q secretinj_runtime > /dev/null
	touch $@

venv: $(STAMP)

lint: venv
	@$(MAKE) --no-print-directory lint-run BIN=$(BIN)

# The checks alone, with the tools in $(BIN): `nox -s lint` runs them with its own.
# mkdocs: the docs site into build/site; a broken link or anchor fails it (offline).
lint-run:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint $(DOCKERFILES)
	$(BIN)/mkdocs build --strict

test: lint
	@$(BIN)/python tests/packaging/versions.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# Every nox session: Python 3.11-3.13, the azmlinfsrv range, the lowest dependencies, the
# YAML with azure-ai-ml, lint and the wheel (`$(BIN)/nox -l` lists them).
matrix: venv
	$(BIN)/nox $(NOX_ARGS)

# The sdist and wheel in dist/ (what `nox -s wheel` builds and checks).
dist: venv
	rm -rf dist
	$(BIN)/python -m uv build --out-dir dist

demo: venv
	$(BIN)/python -m secretinj_runtime.testing.demo

bench: venv
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .nox dist build .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
