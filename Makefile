# The commands the README names. Each creates what it needs (virtual environment, stubs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
# jsii (CDK's Node bridge) prints Node's end-of-life notice as Python byte strings: silence it for the
# project's Node 20 (app.py and the tests set the same themselves; see infra/synth_report.py).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv proto proto-check lint typecheck test test-full run run-ordered demo bench synth openapi schemas clean

help:
	@echo "make run     - the whole adapter locally (AWS emulator, simulator, bridge, lambdas, API, console at /console)"
	@echo "make run-ordered - the same in ordered mode (a local EventBridge EventsV2 bus, FIFO subscribers)"
	@echo "make test    - lint, stub freshness, type check, and the whole test suite"
	@echo "make demo    - the demo calls (two-party, busy then re-dialled, answering machine) on the local stack, checked"
	@echo "make bench   - benchmarks; writes docs/PERFORMANCE.md"
	@echo "make synth   - synthesize the CDK app (cdk-nag checked) into cdk.out/"
	@echo "make lint    - ruff"
	@echo "make typecheck - mypy, strict on contract/ legs/ bridge/ lambdas/ (config: pyproject.toml)"

# Runs on the first `make` and when a requirements file changes (the stamp's name is their checksum);
# says what it does and how long it took, and stays silent on every later run.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "make: setting up $(VENV) (first run, or the requirements changed: a minute or more)"
	@start=$$(date +%s); \
	if ! test -x $(BIN)/python; then \
	  echo "  creating the virtual environment: $(PYTHON) -m venv $(VENV)"; \
	  $(PYTHON) -m venv $(VENV) || exit 1; \
	fi; \
	echo "  updating pip"; \
	$(BIN)/python -m pip install -q --upgrade pip || exit 1; \
	echo "  installing $$(cat requirements.txt requirements-dev.txt | grep -c '==') pinned packages and their dependencies (pip install -r requirements-dev.txt)"; \
	$(BIN)/python -m pip install -q -r requirements-dev.txt || exit 1; \
	rm -f $(VENV)/.installed-* && touch $(STAMP); \
	echo "  done: $$($(BIN)/python -m pip list --format=freeze 2>/dev/null | wc -l) packages in $(VENV), $$(( $$(date +%s) - start )) s"

venv: $(STAMP)

proto: venv
	PYTHON=$(BIN)/python bash legs/pb/generate.sh legs/pb

# Committed stubs must match protos/: regenerate into a temporary folder and compare.
proto-check: venv
	@tmp=$$(mktemp -d) && PYTHON=$(BIN)/python bash legs/pb/generate.sh $$tmp && \
	for f in exotel_legs_pb2.py exotel_legs_pb2.pyi exotel_legs_pb2_grpc.py; do \
	  cmp -s $$tmp/$$f legs/pb/$$f || { echo "legs/pb/$$f is stale: run 'make proto'"; exit 1; }; done; \
	rm -rf $$tmp; echo "protobuf stubs are fresh"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schemas: venv
	$(BIN)/python -m legs.schemas

openapi: venv
	$(BIN)/python -m lambdas.api.openapi

# Strict on the core packages; what is checked and how is [tool.mypy] in pyproject.toml.
typecheck: venv
	$(BIN)/mypy

test: venv proto-check lint typecheck
	$(BIN)/python -m pytest

test-full: venv
	RELIABILITY_FULL=1 $(BIN)/python -m pytest

run: venv
	$(BIN)/python -m devstack

run-ordered: venv
	DEVSTACK_BUS_MODE=ordered $(BIN)/python -m devstack

demo: venv
	$(BIN)/python -m devstack.demo

bench: venv
	$(BIN)/python -m bench

synth: venv
	$(BIN)/python app.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache
