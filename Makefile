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

export PATH := $(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# Ports, region and the other local settings: infra/local/local.env (the scripts read it; the environment
# overrides it, e.g. DYNAMODB_PORT=8100 make test).
LOCAL_ENV := source infra/local/common.sh

.PHONY: help install dev local-up local-down watch-up proxy proxy-up proxy-image test contract load lint bench coldstart sam-build

help:
	@echo "make dev         local stack + cargo lambda watch in the foreground (http://127.0.0.1:LAMBDA_PORT)"
	@echo "make test        local stack + watch, cargo test --workspace, then the contract test, stop everything"
	@echo "make contract    local stack + watch, Schemathesis: ~3,000 generated requests checked against infra/openapi.yaml"
	@echo "make load        local stack + watch, 2,000 POSTs at concurrency 50 (a fifth replays), summary; stop"
	@echo "make local-up    DynamoDB Local, moto, resources, stream poller (background); ports: infra/local/local.env"
	@echo "make local-down  stop what local-up / watch-up / dev started"
	@echo "make watch-up    cargo lambda watch in the background (log: .local/logs/watch.log)"
	@echo "make proxy       the enforcing proxy (Squid + egress-squid-helper) on 127.0.0.1:PROXY_PORT, foreground"
	@echo "make proxy-up    the same in the background (make local-down stops it)"
	@echo "make proxy-image the proxy's image for Fargate (linux/arm64; docker buildx or podman); PROXY_REPOSITORY=<ECR URI> also pushes it"
	@echo "make lint        ruff, shellcheck, cargo-machete, fmt, clippy, rustdoc, cfn-lint, sam validate --lint, event schemas and their nested template vs types, openapi.yaml check"
	@echo "make bench       cargo bench -p egress-bench --features cedar, then make coldstart"
	@echo "make coldstart   exec-to-first-event of each release binary under cargo-lambda's runtime emulator"

install:
	@bash infra/local/install.sh

local-up:
	@bash infra/local/up.sh

local-down:
	@bash infra/local/down.sh

# Foreground watch with reload on change (infra/local/dev.sh).
dev:
	@bash infra/local/dev.sh

watch-up:
	@bash infra/local/watch-up.sh

# The enforcing proxy against the local stack (infra/local/proxy.sh; DESIGN §12). Needs `make dev` (or
# local-up + watch-up) running, and root.
proxy: install
	@bash infra/local/proxy.sh

proxy-up: install
	@bash infra/local/proxy.sh --background

# The enforcing proxy's image (infra/proxy/Dockerfile) for Fargate, linux/arm64, tagged $(PROXY_IMAGE), with
# docker (buildx) or podman. With PROXY_REPOSITORY=<ECR repository URI> it is also pushed as
# <repository>:<short commit>, the ProxyImageUri to deploy (template.yaml). Not part of test or lint.
PROXY_IMAGE ?= egress-proxy:latest
proxy-image:
	@engine="$$(basename "$$(command -v docker || command -v podman || true)")"; \
	case "$$engine" in \
		docker) docker buildx version >/dev/null 2>&1 \
				|| { echo "proxy-image: docker buildx is needed for a linux/arm64 image" >&2; exit 1; }; \
			docker buildx build --platform linux/arm64 --load -f infra/proxy/Dockerfile -t "$(PROXY_IMAGE)" . ;; \
		podman) podman build --platform linux/arm64 -f infra/proxy/Dockerfile -t "$(PROXY_IMAGE)" . ;; \
		*) echo "proxy-image: neither docker nor podman is on PATH" >&2; exit 1 ;; \
	esac; \
	if [[ -n "$(PROXY_REPOSITORY)" ]]; then \
		uri="$(PROXY_REPOSITORY):$$(git rev-parse --short HEAD)"; \
		[[ -z "$$(git status --porcelain)" ]] || echo "proxy-image: uncommitted changes are in $$uri" >&2; \
		aws ecr get-login-password --region "$$(cut -d. -f4 <<<"$(PROXY_REPOSITORY)")" \
			| "$$engine" login --username AWS --password-stdin "$${uri%%/*}"; \
		"$$engine" tag "$(PROXY_IMAGE)" "$$uri"; \
		"$$engine" push "$$uri"; \
		echo "ProxyImageUri=$$uri"; \
	fi

# Runs every test, then the contract test (make contract), against the local stack and always stops
# it afterwards. The script exits with the tests' status, else the contract test's (make itself then
# reports it and exits 2). To run a subset of the tests only (no contract test):
# make test TEST_ARGS="-p egress-e2e" (replaces --workspace).
test:
	@bash infra/local/test.sh $(TEST_ARGS)

# API contract test (infra/local/contract.sh): Schemathesis generates requests from
# infra/openapi.yaml, sends them to the local stack and checks every answer against the spec; starts
# what it needs like `make test` (and is part of it). Settings: CONTRACT_MAX_EXAMPLES, CONTRACT_SEED;
# extra `schemathesis run` options: make contract CONTRACT_ARGS="--max-failures 1".
contract:
	@bash infra/local/contract.sh $(CONTRACT_ARGS)

# Write-path load test (tests/src/bin/load.rs): starts what it needs like `make test`, prints a
# one-line summary, fails when a check fails. Options: make load LOAD_ARGS="--total 500 --concurrency 20".
load:
	@bash infra/local/load.sh $(LOAD_ARGS)

# The first step fails on any file an ignore pattern hides outside the build and tool directories: a
# source file git never sees compiles here and is missing from every clone (it happened once).
# ruff (ruff.toml) lints the Python, shellcheck (.shellcheckrc) every shell script: the tracked *.sh
# and .ci/run (a script without the .sh suffix has to be named here). cargo-machete: no unused
# dependencies. clippy denies unwrap/expect outside tests in the production crates (Cargo.toml) and,
# with rustdoc, an undocumented public item or a broken doc link in the libraries (missing_docs).
# cfn-lint adds cfn-lint-serverless's rules but WS1004, which wants /aws/lambda/ log group names (the
# functions log to their own named groups: OPERATIONS.md, Deploy).
lint: install
	@hidden="$$(git ls-files --others --ignored --exclude-standard --directory \
		| grep -v -E '^(target|fuzz/target|fuzz/artifacts|fuzz/coverage|\.local|\.aws-sam)/$$|__pycache__/$$|\.pyc$$' || true)"; \
		if [[ -n "$$hidden" ]]; then echo "ignored by .gitignore, so never committed: $$hidden" >&2; exit 1; fi
	$(VENV)/bin/ruff check .
	git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck
	cargo machete
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -q -p egress-core -p egress-proxy
	cargo run -q -p egress-core --bin egress-schemas -- --check
	bash infra/proxy/check.sh
	target/debug/egress-squid-helper ranges | diff -u infra/proxy/internal-ranges.txt -
	python3 infra/local/openapi_check.py
	cfn-lint template.yaml infra/events/schemas.yaml --append-rules cfn_lint_serverless.rules --ignore-checks WS1004
	$(LOCAL_ENV); sam validate --lint --template-file template.yaml

# authorize_egress vs Cedar (pure), the store benchmarks against the local stack (started here), init
# in process; load + compile of a 1,000,000-host deny list (time, peak RSS); then exec-to-first-event
# (make coldstart). docs/BENCHMARKS.md records the results.
bench:
	@bash infra/local/with-stack.sh --watch cargo bench -p egress-bench --features cedar $(BENCH_ARGS)
	cargo run -q --profile bench -p egress-bench --bin policy-load -- 1000000 5
	@bash infra/local/coldstart.sh $(COLDSTART_ARGS)

# Release binaries under `cargo lambda watch --only-lambda-apis` (infra/local/coldstart.sh); needs no
# other service. Options: make coldstart COLDSTART_ARGS="--runs 50".
coldstart:
	@bash infra/local/coldstart.sh $(COLDSTART_ARGS)

# Deployment artefacts (arm64 through cargo-lambda + zig). Not part of test or lint.
sam-build: install
	$(LOCAL_ENV); sam build --template-file template.yaml
