# Weather tweets: RabbitMQ->Valkey and Kafka->Redis pipelines behind one API.
# `make help` lists the targets. Recipes run with bash, stopping at the first error.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(firstword $(MAKEFILE_LIST))))
BUN_VERSION := $(shell cat $(ROOT)/.bun-version)
BUN := $(ROOT)/.tools/bun/node_modules/.bin/bun
STATE_DIR := $(ROOT)/.state
export PATH := $(ROOT)/.tools/bin:$(ROOT)/.tools/bun/node_modules/.bin:$(PATH)
# Every recipe's shell loads the stack's settings first: the environment (and make's command-line
# variables) win, then .env, then .env.example. scripts/lib/env.sh is the one loader.
export BASH_ENV := $(ROOT)/scripts/lib/env.sh

# Test tiers. Unit: no broker, no server. Integration: the native stack, started first.
UNIT_TESTS := $(wildcard packages api/test/unit consumers/test/unit test/deploy test/tooling grafana/test)
INTEGRATION_TESTS := $(wildcard test/integration api/test/integration consumers/test/integration test/observability test/bench test/soak test/faults)
TEST_LOG := $(STATE_DIR)/test.log

.PHONY: help setup bun deps browser lint format typecheck test test-unit test-integration env \
	services-up services-down services-status services-logs clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

setup: bun deps ## Install Bun (pinned, from npm) and the workspace's locked dependencies

bun: ## Install Bun $(BUN_VERSION) under .tools/ unless it is already there
	@if [[ -x "$(BUN)" && "$$($(BUN) --version)" == "$(BUN_VERSION)" ]]; then \
		echo "bun $(BUN_VERSION) present"; \
	else \
		echo "installing bun $(BUN_VERSION) from npm into .tools/bun"; \
		npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$(ROOT)/.tools/bun" "bun@$(BUN_VERSION)"; \
		"$(BUN)" --version; \
	fi

deps: bun
	"$(BUN)" install --frozen-lockfile

browser: ## Install Debian's Chromium for the browser tests, unless present
	@command -v chromium >/dev/null || { apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
	@chromium --version

lint: setup ## Biome: formatting and lint rules
	"$(BUN)" x biome check .

format: setup ## Biome: apply formatting and safe fixes
	"$(BUN)" x biome check --write .

typecheck: setup ## TypeScript, strict, no emit
	"$(BUN)" x tsc --noEmit -p tsconfig.json

test-unit: setup deploy-tools ## Unit tests (no broker needed)
	"$(BUN)" test $(addprefix ./,$(UNIT_TESTS))

test-integration: setup browser services-up ## Integration tests against the real native stack
	"$(BUN)" test --timeout 60000 $(addprefix ./,$(INTEGRATION_TESTS))

test: ## Everything CI runs: lint, type check, unit tests, native stack, integration tests, compose test
	@mkdir -p "$(STATE_DIR)"
	@$(MAKE) --no-print-directory setup
	@{ $(MAKE) --no-print-directory lint typecheck test-unit test-integration compose-test; } 2>&1 | tee "$(TEST_LOG)"

env: ## Print the native stack's settings as every recipe and script sees them (environment > .env > .env.example)
	@grep -oE '^[A-Z0-9_]+' "$(ROOT)/.env.example" | while read -r name; do printf '%s=%s\n' "$$name" "$${!name-}"; done

services-up: ## Install (if missing) and start RabbitMQ, Kafka, Valkey, Redis, Prometheus on loopback
	bash scripts/services.sh up

services-down: ## Stop the native servers this project started
	bash scripts/services.sh down

services-status: ## Show each native server's address and state
	bash scripts/services.sh status

services-logs: ## Last lines of each native server's log
	bash scripts/services.sh logs

clean: services-down ## Stop the servers and delete .state/ (broker data, logs)
	rm -rf "$(STATE_DIR)"

include $(wildcard $(ROOT)/mk/*.mk)
