# Egress gateway: local stack, tests, lint.
# Tools come from .local/venv (infra/local/install.sh installs them; every target that needs them
# runs it first, and it is a no-op when everything is there).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
LOCAL := $(ROOT)/.local
RUN := $(LOCAL)/run
LOGS := $(LOCAL)/logs
VENV := $(LOCAL)/venv

export DYNAMODB_PORT ?= 8000
export MOTO_PORT ?= 5000
export LAMBDA_PORT ?= 9000
export PATH := $(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= us-east-1

# How long watch-up waits for `cargo lambda watch` to answer, and for each function's first
# invocation (the functions are built before watch starts, so this is start-up time only).
WATCH_START_TIMEOUT ?= 120
WATCH_WARM_TIMEOUT ?= 120
# No `--timeout`: in cargo-lambda 1.9 it also cuts the idle functions' long poll for the next
# event, and lambda_runtime then panics ("missing lambda-runtime-aws-request-id header").
WATCH := cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $(LAMBDA_PORT) --env-file $(RUN)/watch.env
STACK_ENV := set -a; . $(RUN)/stack.env; set +a

.PHONY: help install dev local-up local-down watch-up test lint bench sam-build

help:
	@echo "make dev         local stack + cargo lambda watch in the foreground (http://127.0.0.1:$(LAMBDA_PORT))"
	@echo "make test        local stack + watch, cargo test --workspace, stop everything"
	@echo "make local-up    DynamoDB Local :$(DYNAMODB_PORT), moto :$(MOTO_PORT), resources, stream poller (background)"
	@echo "make local-down  stop what local-up / watch-up / dev started"
	@echo "make watch-up    cargo lambda watch in the background (log: .local/logs/watch.log)"
	@echo "make lint        fmt, clippy, cfn-lint, sam validate --lint, schema sync check"
	@echo "make bench       cargo bench -p egress-bench --features cedar"

install:
	@bash infra/local/install.sh

local-up:
	@bash infra/local/up.sh

local-down:
	@bash infra/local/down.sh

# Foreground watch with reload on change. Its pid is recorded so local-down can stop it too.
dev: local-up
	cargo build --workspace --bins
	@echo "[dev] API: curl -H 'X-Egress-Principal: alice' http://127.0.0.1:$(LAMBDA_PORT)/v1/egress/requests"
	@echo $$$$ > $(RUN)/dev-watch.pid; exec $(WATCH)

watch-up:
	@source infra/local/common.sh; \
	if pid_alive "$$RUN_DIR/watch.pid"; then log "cargo lambda watch already running (pid $$(cat $$RUN_DIR/watch.pid))"; exit 0; fi; \
	[[ -f "$(RUN)/watch.env" ]] || { log "run make local-up first"; exit 1; }; \
	log "building the functions"; \
	cargo build --workspace --bins; \
	start_bg watch "$(LOGS)/watch.log" $(WATCH) --ignore-changes; \
	wait_http "cargo lambda watch" "http://127.0.0.1:$(LAMBDA_PORT)/" $(WATCH_START_TIMEOUT) "$$RUN_DIR/watch.pid"; \
	base="http://127.0.0.1:$(LAMBDA_PORT)"; \
	warm() { local what="$$1"; shift; \
		local code; code=$$(curl -s -o /dev/null -w '%{http_code}' --max-time $(WATCH_WARM_TIMEOUT) "$$@" || true); \
		log "warm-up: $$what answered HTTP $$code"; }; \
	warm "create-request (POST /v1/egress/requests, no principal)" -X POST -H 'Content-Type: application/json' -d '{}' "$$base/v1/egress/requests"; \
	warm "list-requests (GET /v1/egress/requests, no principal)" "$$base/v1/egress/requests"; \
	warm "publish-events (Invoke, no records)" -H 'Content-Type: application/json' -d '{"Records":[]}' "$$base/2015-03-31/functions/publish-events/invocations"

# Runs every test against the local stack and always stops it; exits with the tests' status.
test:
	@status=0; \
	{ $(MAKE) --no-print-directory local-up && $(MAKE) --no-print-directory watch-up && \
	  { $(STACK_ENV); cargo test --workspace; }; } || status=$$?; \
	$(MAKE) --no-print-directory local-down || true; \
	if [[ $$status -ne 0 ]]; then \
		for f in $(LOGS)/*.log; do [[ -f "$$f" ]] && { echo "--- tail of $${f#$(ROOT)/}" >&2; tail -n 40 "$$f" >&2; }; done; \
		echo "make test: failed (exit $$status); logs in .local/logs/" >&2; \
	fi; \
	exit $$status

lint: install
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 infra/local/sync_schemas.py --check
	cfn-lint template.yaml
	sam validate --lint --template-file template.yaml

bench:
	cargo bench -p egress-bench --features cedar

# Deployment artefacts (arm64 through cargo-lambda + zig). Not part of test or lint.
sam-build: install
	sam build --template-file template.yaml
