# The consumers on the native stack: `make dev` / `make dev-down` (API + 2 replicas of each consumer,
# in the background) and `make demo` (10,000 messages through both pipelines, side by side).
# Replicas and pipeline settings come from the environment (see scripts/dev.sh), e.g.
#   make dev RABBITMQ_CONSUMER_REPLICAS=3 KAFKA_CONSUMER_REPLICAS=3 KAFKA_TOPIC_PARTITIONS=3

.PHONY: dev dev-down dev-status demo test-consumers

dev: setup ## Native servers, then the API and 2 replicas of each consumer in the background (logs: .state/dev/)
	BUN="$(BUN)" bash "$(ROOT)/scripts/dev.sh" up

dev-down: ## Stop the API and consumers that `make dev` started (the servers keep running)
	BUN="$(BUN)" bash "$(ROOT)/scripts/dev.sh" down

dev-status: ## One line per API/consumer process started by `make dev`
	BUN="$(BUN)" bash "$(ROOT)/scripts/dev.sh" status

demo: setup ## Fresh machine to results: start everything, send 10,000 messages, print both pipelines side by side (KEEP=1 keeps it running)
	BUN="$(BUN)" "$(BUN)" "$(ROOT)/scripts/demo/main.ts"

test-consumers: setup services-up ## The consumers' unit and integration tests
	"$(BUN)" test ./consumers/test
