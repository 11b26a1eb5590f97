# Benchmarks: Locust (the original lab's load), vegeta (open-loop load) and `make bench`.
# Tools go under .tools/ (git-ignored), pinned; each install is skipped when already there.
# `go install` leaves vegeta's -version empty, so the installed version is kept in vegeta.version.

LOCUST_VERSION := 2.47.0
VEGETA_VERSION := v12.13.0
VENV := $(ROOT)/.tools/venv
LOCUST := $(VENV)/bin/locust
VEGETA := $(ROOT)/.tools/bin/vegeta
.PHONY: bench bench-tools locust-install vegeta-install locust chaos

locust-install: ## Install Locust $(LOCUST_VERSION) from PyPI into .tools/venv, unless present
	@if [[ -x "$(LOCUST)" ]] && "$(LOCUST)" --version 2>/dev/null | grep -q "$(LOCUST_VERSION)"; then \
		echo "locust $(LOCUST_VERSION) present"; \
	else \
		echo "installing locust $(LOCUST_VERSION) into .tools/venv"; \
		python3 -m venv "$(VENV)"; \
		"$(VENV)/bin/pip" install --quiet --disable-pip-version-check -r "$(ROOT)/locust/requirements.txt"; \
	fi

vegeta-install: ## Build vegeta $(VEGETA_VERSION) (Go module proxy) into .tools/bin, unless present
	@if [[ -x "$(VEGETA)" && "$$(cat "$(VEGETA).version" 2>/dev/null)" == "$(VEGETA_VERSION)" ]]; then \
		echo "vegeta $(VEGETA_VERSION) present"; \
	else \
		echo "building vegeta $(VEGETA_VERSION) into .tools/bin"; \
		GOBIN="$(ROOT)/.tools/bin" go install "github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)"; \
		echo "$(VEGETA_VERSION)" > "$(VEGETA).version"; \
	fi

bench-tools: locust-install vegeta-install

# The bench's integration test (test/bench) needs the load generators.
test-integration: bench-tools

# Variables given on the command line (SCENARIO=, DURATION_S=, RATE=, BATCH_SIZE=, ... see
# bench/src/config.ts) reach the recipe's environment and win over .env and .env.example.
bench: setup bench-tools services-up ## Pipeline benchmark: SCENARIO=seed|rate|max|replicas|partitions|backlog|soak|ceiling|faults|ha [DURATION_S= RATE= BATCH_SIZE= ...]
	@"$(BUN)" "$(ROOT)/bench/src/main.ts"

locust: locust-install ## The original lab's Locust run against API_URL (default http://127.0.0.1:$$API_PORT), 100 users, 60 s
	@cd "$(ROOT)/locust" && "$(LOCUST)" -f locustfile.py --host="$${API_URL:-http://127.0.0.1:$$API_PORT}" \
		--users 100 --spawn-rate 10 --run-time 60s --headless

chaos: setup services-up ## The fault suite at full length (FAULTS=all|id,...; TOPOLOGY=ha: the node-loss cases on three nodes per broker), report in reports/
	@SCENARIO=faults FAULT_PROFILE=$${FAULT_PROFILE:-full} "$(BUN)" "$(ROOT)/bench/src/main.ts"
