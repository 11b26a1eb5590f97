#!/usr/bin/env bash
# make compose-test: compose.yaml run for real, as users run it.
#
#  1. a Docker engine and Compose v2 (scripts/docker/engine.sh: installed and started if missing);
#  2. the images compose.yaml pulls, or labelled local stand-ins where none can be pulled
#     (scripts/docker/images.sh), mapped in by test/compose/compose.test.yaml alone;
#  3. `docker compose up --build --wait`: the three application images from the Dockerfile as it
#     is, every service healthy (the brokers' checks, the services' /readyz);
#  4. test/compose: messages through the api container's published port, exact counts per country
#     in Valkey and Redis, a consumer of each pipeline killed under load and brought back by the
#     restart policy, counts still exact;
#  5. `docker compose down -v`, whatever happened (logs first, on failure).
#
# Settings (environment, then .env, then defaults): COMPOSE_TEST_PROJECT (weather-tweets-test),
# COMPOSE_TEST_PORT_BASE (13000: API +0, RabbitMQ management +1, Prometheus +2, Valkey +3,
# Redis +4, Grafana +5, Locust +6, all on 127.0.0.1), COMPOSE_TEST_MESSAGES (2000).
set -euo pipefail

LOG_PREFIX=compose-test
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
BUN=${BUN:-$ROOT/.tools/bun/node_modules/.bin/bun}
PROJECT=${COMPOSE_TEST_PROJECT:-weather-tweets-test}
PORT_BASE=${COMPOSE_TEST_PORT_BASE:-13000}
WAIT_TIMEOUT_S=${COMPOSE_TEST_WAIT_TIMEOUT_S:-420}

STEP_STARTED=$SECONDS
step_done() {
  log "$1: $((SECONDS - STEP_STARTED))s"
  STEP_STARTED=$SECONDS
}

mkdir -p "$STATE_DIR/docker"
TOTAL_STARTED=$SECONDS

config=$(bash "$ROOT/scripts/docker/engine.sh" up)
config=${config#DOCKER_CONFIG=}
if [[ -n "$config" ]]; then export DOCKER_CONFIG=$config; fi
step_done "engine and Compose v2"

while IFS='=' read -r name value; do
  [[ $name == COMPOSE_TEST_*_IMAGE ]] && export "$name=$value"
done < <(bash "$ROOT/scripts/docker/images.sh" resolve)
step_done "images (official or stand-ins)"

export API_HOST_PORT=$PORT_BASE
export RABBITMQ_MANAGEMENT_HOST_PORT=$((PORT_BASE + 1))
export PROMETHEUS_HOST_PORT=$((PORT_BASE + 2))
export COMPOSE_TEST_VALKEY_PORT=$((PORT_BASE + 3))
export COMPOSE_TEST_REDIS_PORT=$((PORT_BASE + 4))
export GRAFANA_HOST_PORT=$((PORT_BASE + 5))
export LOCUST_HOST_PORT=$((PORT_BASE + 6))
# The application images get the project's name, not the ones `make up` builds.
export IMAGE_PREFIX=$PROJECT IMAGE_TAG=compose-test
export COMPOSE_TEST_PROJECT=$PROJECT
COMPOSE=(docker compose --project-name "$PROJECT" --project-directory "$ROOT"
  -f "$ROOT/compose.yaml" -f "$ROOT/test/compose/compose.test.yaml")

finish() {
  local status=$?
  trap - EXIT
  if ((status != 0)); then
    log "failed; state of the stack and the last log lines of each service:"
    "${COMPOSE[@]}" ps --all >&2 || true
    "${COMPOSE[@]}" logs --no-color --tail 40 >&2 || true
  fi
  STEP_STARTED=$SECONDS
  "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 20 >"$STATE_DIR/docker/down.log" 2>&1 ||
    { cat "$STATE_DIR/docker/down.log" >&2; status=1; }
  step_done "down -v"
  log "total: $((SECONDS - TOTAL_STARTED))s"
  exit "$status"
}
trap finish EXIT

# Leftovers of an interrupted run (same project name) would skew the counts.
"${COMPOSE[@]}" down --volumes --remove-orphans --timeout 20 >"$STATE_DIR/docker/down.log" 2>&1

log "docker compose up --build --detach --wait (log: $STATE_DIR/docker/compose-up.log)"
if ! "${COMPOSE[@]}" up --build --detach --wait --wait-timeout "$WAIT_TIMEOUT_S" \
  >"$STATE_DIR/docker/compose-up.log" 2>&1; then
  tail -n 40 "$STATE_DIR/docker/compose-up.log" >&2
  exit 1
fi
step_done "up --build --wait"

"$BUN" test --timeout 600000 "$ROOT/test/compose"
step_done "test/compose"
