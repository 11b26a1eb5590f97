# The ingest API (api/): run it, test it, benchmark it.
# Settings: the environment, then .env, then .env.example (loaded for every recipe, see BASH_ENV).

.PHONY: api test-api test-api-unit test-api-integration wrk-install bench-api bench-kafka-clients

api: setup services-up ## Run the API in the foreground on API_PORT (Ctrl-C / SIGTERM drains and exits)
	@exec "$(BUN)" "$(ROOT)/api/src/main.ts"

test-api-unit: setup ## The API's unit tests (app.handle, no broker)
	cd "$(ROOT)" && "$(BUN)" test api/test/unit

test-api-integration: setup browser services-up ## The API against the real brokers, plus Swagger UI in headless Chromium
	@cd "$(ROOT)" && "$(BUN)" test api/test/integration

test-api: test-api-unit test-api-integration ## Both tiers of the API's tests

wrk-install: ## Install wrk (Debian package) for the HTTP benchmark, unless present
	@command -v wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
	@command -v wrk >/dev/null && echo "wrk present"

# BENCH_API_SECONDS / BENCH_API_CONNECTIONS / BENCH_API_ROUNDS tune the run (defaults: 10 s, 64, 2).
bench-api: setup wrk-install services-up ## POST /process with wrk: stubbed brokers and real brokers, each next to a bare Bun.serve echo
	@cd "$(ROOT)" && "$(BUN)" api/bench/http.ts \
		"$${BENCH_API_SECONDS:-10}" "$${BENCH_API_CONNECTIONS:-64}" "$${BENCH_API_ROUNDS:-2}"

bench-kafka-clients: setup services-up ## kafkajs vs @platformatic/kafka behind the API's producer, real broker, same run
	@cd "$(ROOT)" && "$(BUN)" api/bench/kafka-clients.ts 40000 200 4
