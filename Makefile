# Meridian's commands. `make test` is the one command a fresh machine runs; `make verify` is
# exactly what CI runs (.ci/run).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
# Respect an outer CARGO_TARGET_DIR (CI caches builds outside the clone); default ./target.
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
TARGET_ABS := $(abspath $(CARGO_TARGET_DIR))
# The binary the end-to-end suites spawn.
MERIDIAN_BIN ?= $(TARGET_ABS)/debug/meridian
# `make jepsen`: runs per (workload, nemesis) pair, seconds of load per run, first seed.
JEPSEN_RUNS ?= 5
JEPSEN_SECONDS ?= 60
JEPSEN_SEED ?= 1
# Seconds each fuzz target runs under `make fuzz`.
FUZZ_SECONDS ?= 60

PY_REQUIREMENTS := tests/python/requirements.txt
# `make test-browser`: the console test's npm packages and the browser it drives.
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
PY_STAMP := $(VENV)/.requirements-installed

.PHONY: run build test verify bench bench-region fuzz venv test-rust test-python test-browser clean-venv jepsen

## run: the server from a release build (extra flags: make run ARGS="--in-memory")
run:
	$(CARGO) run --release -p meridian-server -- $(ARGS)

## build: release build of the `meridian` binary
build:
	$(CARGO) build --release -p meridian-server

## venv: a Python virtualenv with boto3, the AWS CLI and pytest (reinstalled when the pins change)
venv: $(PY_STAMP)

$(PY_STAMP): $(PY_REQUIREMENTS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(PY_REQUIREMENTS)
	touch $@

## test: everything (Rust unit, property and end-to-end tests, the Python suite, then the web
## console in headless Chromium)
test: venv
	scripts/install-test-tools.sh
	$(CARGO) build -p meridian-server
	status=0; \
	$(MAKE) --no-print-directory test-rust || status=$$?; \
	$(MAKE) --no-print-directory test-python || status=$$?; \
	$(MAKE) --no-print-directory test-browser || status=$$?; \
	exit $$status

test-rust:
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  MERIDIAN_BIN=$(MERIDIAN_BIN) $(CARGO) nextest run --workspace --no-fail-fast; \
	  $(CARGO) test --workspace --doc; \
	else \
	  MERIDIAN_BIN=$(MERIDIAN_BIN) $(CARGO) test --workspace --no-fail-fast; \
	fi

test-python: venv
	MERIDIAN_BIN=$(MERIDIAN_BIN) $(VENV)/bin/python -m pytest tests/python -q

## test-browser: the web console in headless Chromium (Debian's /usr/bin/chromium, driven by
## playwright-core); installs chromium (apt-get) and the npm packages when missing
test-browser: $(BROWSER_STAMP)
	$(CARGO) build -p meridian-server
	if [ ! -x $(CHROMIUM) ]; then \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	fi
	MERIDIAN_BIN=$(MERIDIAN_BIN) CHROMIUM=$(CHROMIUM) node $(BROWSER_DIR)/console.test.mjs

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	if ! command -v npm >/dev/null; then \
	  apt-get install -y nodejs npm || { apt-get update && apt-get install -y nodejs npm; }; \
	fi
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund
	touch $@

## verify: what CI runs — formatting, lints as errors, then every test
verify:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(MAKE) --no-print-directory test

## bench: Meridian (durable and in-memory) side by side with dynalite and a bare hyper server
bench:
	scripts/bench-compare.sh

## bench-region: a 3-node region next to a single node, and leader failover over 10 trials
bench-region:
	scripts/bench-region.sh

## jepsen: every fault run (workload × nemesis, JEPSEN_RUNS × JEPSEN_SECONDS each); report in
## jepsen/REPORT.md, histories under $(CARGO_TARGET_DIR)/jepsen (the short run is in `make test`)
jepsen:
	$(CARGO) build -p meridian-server -p meridian-jepsen
	MERIDIAN_BIN=$(MERIDIAN_BIN) $(TARGET_ABS)/debug/meridian-jepsen --workload all --nemesis all \
	  --runs $(JEPSEN_RUNS) --duration-s $(JEPSEN_SECONDS) --seed $(JEPSEN_SEED) \
	  --out $(TARGET_ABS)/jepsen --report jepsen/REPORT.md

## fuzz: each cargo-fuzz target for FUZZ_SECONDS (needs cargo-fuzz and a nightly toolchain)
fuzz:
	if [ ! -d fuzz ]; then echo "no fuzz/ directory yet: nothing to fuzz"; exit 0; fi; \
	if ! $(CARGO) fuzz --help >/dev/null 2>&1; then \
	  echo "cargo-fuzz is not installed (cargo install cargo-fuzz): skipping"; exit 0; fi; \
	for target in $$($(CARGO) fuzz list); do \
	  echo "--- fuzzing $$target for $(FUZZ_SECONDS)s"; \
	  $(CARGO) fuzz run "$$target" -- -max_total_time=$(FUZZ_SECONDS); \
	done

clean-venv:
	rm -rf $(VENV)
