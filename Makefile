# The project's verbs. Every verb bootstraps what it needs through `install`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
export PATH := $(CURDIR)/$(BIN):$(PATH)
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= sandbox.sqlite3

.PHONY: help install constraints generate drift lint spec-diff spec-release typecheck check portability test sandbox contract certify bench docs wheel clean

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

install: $(STAMP) $(NODE_STAMP) $(SYSTEM_STAMP) ## create .venv and node_modules with everything (idempotent)

$(SYSTEM_STAMP): system-packages.txt $(STAMP)
	bash scripts/install_system_packages.sh
	touch $@

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[sandbox,contract,dev]'
	touch $@

constraints: $(STAMP) ## re-pin constraints.txt to what .venv has now (after editing pyproject.toml)
	{ sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^bango'; } > constraints.tmp
	mv constraints.tmp constraints.txt

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

generate: $(STAMP) ## validate the spec and regenerate generated/ from it; write the sync client from the async one
	$(PY) scripts/generate.py
	$(PY) scripts/unasync.py

drift: $(STAMP) ## fail if generated/ differs from what the spec produces, or the sync client from the async one
	$(PY) scripts/generate.py --check
	$(PY) scripts/unasync.py --check

lint: $(STAMP) $(NODE_STAMP) ## validate and lint both specs, lint the Python code
	$(PY) scripts/lint_spec.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

spec-diff: $(STAMP) $(NODE_STAMP) ## compare the partner spec with its last release (or BASE=1.0.0, or a file); fail on an unversioned breaking change
	$(PY) scripts/spec_diff.py check $(if $(BASE),--base '$(BASE)') --output reports/spec-diff.md

spec-release: $(STAMP) ## cut spec/released/<info.version>.openapi.yaml (needs the version's CHANGELOG entry)
	$(PY) scripts/spec_diff.py release

typecheck: $(STAMP) ## mypy --strict over the hand-written packages
	$(BIN)/mypy spec/bango_resale_spec overrides/bango_resale sandbox/bango_resale_sandbox contract/bango_resale_contract

check: lint spec-diff drift typecheck ## every static check CI runs

portability: $(STAMP) $(NODE_STAMP) $(SYSTEM_STAMP) ## feed the partner spec to partners' tools (openapi-generator python/TypeScript/Java, openapi-typescript, Specmatic, Prism) and check what they make works
	$(PY) scripts/portability.py

# Most tests wait (servers, child processes, a browser): workers overlap the waits, and three
# on two cores finished a fresh clone's run in 5.4 min against 6.4 with two. The tests marked
# `serial` are judged on what a time budget achieves, so they run afterwards, alone.
# loadgroup keeps a module marked xdist_group on one worker (its module fixture built once).
# --durations: the slowest tests named in every CI log, where time goes.
PYTEST_WORKERS ?= 3

test: $(SYSTEM_STAMP) check certify portability ## static checks, the certification journeys, the partner tools, then the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m 'not serial' --durations=15
	$(BIN)/pytest -m serial --durations=5

sandbox: $(STAMP) ## run the sandbox on HOST:PORT with DB (a SQLite file or a postgresql:// URL)
	BANGO_SANDBOX_PORT_OPTION=PORT= $(PY) -m bango_resale_sandbox --host $(HOST) --port $(PORT) --db '$(DB)'

contract: generate ## regenerate, then contract-test the sandbox (or URL=... USER=... PASSWORD=... [PRODUCTS=M/P])
	$(BIN)/bango-resale-contract run --url '$(URL)' --user '$(USER)' --password '$(PASSWORD)' \
	  $(foreach product,$(PRODUCTS),--product '$(product)')

certify: $(STAMP) $(NODE_STAMP) ## run the certification journeys on a fresh sandbox (or URL=... USER=... PASSWORD=... [NOTIFY_URL=...])
	$(BIN)/bango-resale-contract certify --url '$(URL)' --user '$(USER)' --password '$(PASSWORD)' \
	  --notification-url '$(NOTIFY_URL)'

bench: $(STAMP) $(NODE_STAMP) ## run the benchmarks under scripts/bench/
	for b in scripts/bench/bench_*.py; do $(PY) $$b || exit 1; done

docs: $(STAMP) $(NODE_STAMP) ## build the documentation site (guides, both API references, the status machine) into reports/docs/
	$(PY) scripts/build_docs.py --out reports/docs

wheel: $(STAMP) ## build the wheel and sdist into dist/
	$(PY) -m build --outdir dist .

clean: ## remove the environment, caches and reports
	rm -rf $(VENV) node_modules dist build reports partner-clients .hypothesis .schemathesis .pytest_cache .mypy_cache .ruff_cache
