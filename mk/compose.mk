# compose.yaml run for real: `make compose-test` (part of `make test`). See scripts/docker/compose-test.sh
# and docs/deployment.md ("Compose in make test"). Needs root (apt-get, dockerd) like the native stack.

.PHONY: compose-test docker-engine-down

compose-test: setup ## Docker engine + Compose v2 (installed if missing), up --wait, 2,000 messages, consumers crashed, exact counts, down -v
	BUN="$(BUN)" bash "$(ROOT)/scripts/docker/compose-test.sh"

docker-engine-down: ## Stop the Docker engine, only if this checkout started it
	bash "$(ROOT)/scripts/docker/engine.sh" down
