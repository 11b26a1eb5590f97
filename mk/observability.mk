# Observability: Prometheus scrape configs (prometheus/) and Grafana provisioning (grafana/).

.PHONY: dashboards dashboards-check prometheus-check test-observability

dashboards: ## Regenerate grafana/dashboards/*.json from grafana/src
	"$(BUN)" "$(ROOT)/grafana/generate.ts"

dashboards-check: ## Fail if the committed dashboards differ from the generator's output
	"$(BUN)" "$(ROOT)/grafana/generate.ts" --check

prometheus-check: ## promtool check of the native and compose scrape configs
	promtool check config "$(ROOT)/prometheus/prometheus.native.yml"
	promtool check config "$(ROOT)/prometheus/prometheus.compose.yml"

test-observability: services-up ## Every dashboard query against real Prometheus, Valkey and Redis (starts what is missing)
	"$(BUN)" test "$(ROOT)/grafana/test" "$(ROOT)/test/observability"
