# The commands the README names. Each creates what it needs (virtual environment, stubs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv proto proto-check lint typecheck test test-full run demo bench synth openapi schemas clean

help:
	@echo "make run     - the whole adapter locally (AWS emulator, simulator, bridge, lambdas, API)"
	@echo "make test    - lint, stub freshness, type check, and the whole test suite"
	@echo "make demo    - place a two-party call and a busy call with retry on the local stack"
	@echo "make bench   - benchmarks; writes docs/PERFORMANCE.md"
	@echo "make synth   - synthesize the CDK app (cdk-nag checked) into cdk.out/"
	@echo "make lint    - ruff"
	@echo "make typecheck - mypy, strict on contract/ legs/ bridge/ lambdas/ (config: pyproject.toml)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

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

demo: venv
	$(BIN)/python -m devstack.demo

bench: venv
	$(BIN)/python -m bench

synth: venv
	$(BIN)/python app.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache
