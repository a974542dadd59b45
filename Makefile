# sentiment-api: every target installs what it needs into .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
# apt-get needs root: sudo for everyone else.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test bench lint typecheck fmt install chromium clean help

help:
	@echo "make demo      - run the product locally (trains first if there is no model yet)"
	@echo "make test      - lint, type-check and run the tests"
	@echo "make bench     - print the benchmark figures"
	@echo "make install   - create .venv with the project and its dev tools"
	@echo "make lint      - ruff (lint rules and formatting)"
	@echo "make typecheck - mypy"
	@echo "make fmt       - format the code and apply ruff's fixes"
	@echo "make chromium  - install Debian's chromium for the page's browser tests"
	@echo "make clean     - remove the virtualenv and caches (keeps artifacts/)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# pip upgraded in the same resolve as the project: chalice caps pip's version, and a
	@# separate upgrade to the newest pip made the next install print a conflict ERROR.
	$(BIN)/python -m pip install --quiet --upgrade pip -e '.[train,dev]'
	@touch $(STAMP)

# The SageMaker SDK v3 (the aws extra) is large and never needed locally; the tests of the
# high-level deploy path need it, so `make test` installs it too.
AWS_STAMP := $(VENV)/.installed-aws
$(AWS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[train,dev,aws]'
	@touch $(AWS_STAMP)

install: $(STAMP)

# Debian's Chromium for the page's browser tests (Playwright cannot download its own here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(wildcard vocab_store training devstack sentiment_api/app.py sentiment_api/chalicelib)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(AWS_STAMP) chromium lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# DEMO_ARGS: any `sentiment up` options, e.g. DEMO_ARGS=--autoreload (edits of app.py and
# chalicelib/ are served without a restart) or DEMO_ARGS=--services-only (run chalice local
# yourself). exec: make's child is `sentiment up` itself, which also stops when make is
# signalled alone (`kill -INT <make's pid>`: make then waits for its child; see
# training/make_parent.py).
demo: $(STAMP)
	exec $(BIN)/sentiment up $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .cache
