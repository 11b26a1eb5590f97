#!/usr/bin/env bash
# The application on the native stack: the API and N replicas of each consumer, in the background.
#
#   scripts/dev.sh up                 native servers (scripts/services.sh up), then API + consumers; waits for /readyz
#   scripts/dev.sh down               stops what this script started (and nothing else)
#   scripts/dev.sh status             one line per process
#   scripts/dev.sh stop-consumers     stops only the consumers (e.g. to build a backlog)
#   scripts/dev.sh start-consumers    starts them again
#   scripts/dev.sh scale rabbitmq|kafka N   starts or stops replicas until N of that consumer run
#   scripts/dev.sh pid NAME           the pid of NAME's process (api, rabbitmq-consumer-0, ...), for fault tests
#
# Every process runs under scripts/lib/supervise.sh: whenever it exits it is started again after a
# capped, jittered backoff, as compose's restart policy and Kubernetes do.
#
# Settings come from the environment, then .env, then .env.example, and are passed to every
# process: RABBITMQ_QUEUE, KAFKA_TOPIC, KAFKA_TOPIC_PARTITIONS, VALKEY_URL, REDIS_URL, BATCH_MAX_SIZE,
# BATCH_MAX_WAIT_MS, RABBITMQ_PREFETCH, ... Replicas: RABBITMQ_CONSUMER_REPLICAS, KAFKA_CONSUMER_REPLICAS
# (default 2 each). Replica i (0-based) listens on RABBITMQ_CONSUMER_PORT+i / KAFKA_CONSUMER_PORT+i.
# TOPOLOGY=ha (make dev TOPOLOGY=ha): the servers are the three-node clusters and the services get their
# address lists (scripts/ha/env.sh).
# Pid files and logs: .state/dev/<name>.pid (the process), <name>.supervisor.pid, <name>.log (DEV_DIR).
set -euo pipefail

LOG_PREFIX=dev
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# TOPOLOGY=ha: the services connect to the three-node clusters (scripts/ha/env.sh).
# shellcheck source=ha/env.sh
source "$ROOT/scripts/ha/env.sh"
export RABBITMQ_CONSUMER_REPLICAS=${RABBITMQ_CONSUMER_REPLICAS:-2}
export KAFKA_CONSUMER_REPLICAS=${KAFKA_CONSUMER_REPLICAS:-2}
BUN=${BUN:-$ROOT/.tools/bun/node_modules/.bin/bun}
# DEV_DIR: where pid files and logs go; a second stack (e.g. the fault suite's) uses one of its own.
DEV_DIR=${DEV_DIR:-$STATE_DIR/dev}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-60}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-12}

consumer_names() {
  local i
  for ((i = 0; i < RABBITMQ_CONSUMER_REPLICAS; i++)); do echo "rabbitmq-consumer-$i"; done
  for ((i = 0; i < KAFKA_CONSUMER_REPLICAS; i++)); do echo "kafka-consumer-$i"; done
}
# Also the replicas beyond the current count that an earlier `up` may have started.
started_consumers() {
  local file
  for file in "$DEV_DIR"/rabbitmq-consumer-*.supervisor.pid "$DEV_DIR"/kafka-consumer-*.supervisor.pid; do
    [[ -f "$file" ]] && basename "$file" .supervisor.pid
  done
  return 0
}
port_of() {
  case $1 in
    api) echo "$API_PORT" ;;
    rabbitmq-consumer-*) echo $((RABBITMQ_CONSUMER_PORT + ${1##*-})) ;;
    kafka-consumer-*) echo $((KAFKA_CONSUMER_PORT + ${1##*-})) ;;
  esac
}
entry_of() { case $1 in api) echo api/src/main.ts ;; *) echo consumers/src/main.ts ;; esac; }

# The supervisor's pid (scripts/lib/supervise.sh), if it is alive and still supervises NAME (pids get reused).
live_pid() {
  local name=$1 file="$DEV_DIR/$1.supervisor.pid" pid
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "supervise.sh $name " || return 1
  echo "$pid"
}

# The supervised process's own pid (what a fault test kills), if it runs.
process_pid() {
  local file="$DEV_DIR/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_one() {
  local name=$1 port pid
  port=$(port_of "$name")
  if pid=$(live_pid "$name"); then
    log "$name already running (pid $pid, port $port)"
    return 0
  fi
  port_open "$port" && die "port $port (for $name) is taken by another process"
  mkdir -p "$DEV_DIR"
  (
    cd "$ROOT"
    case $name in
      api) export API_PORT=$port ;;
      rabbitmq-consumer-*) export CONSUMER_SOURCE=rabbitmq HTTP_PORT=$port STORE_URL=$VALKEY_URL ;;
      kafka-consumer-*) export CONSUMER_SOURCE=kafka HTTP_PORT=$port STORE_URL=$REDIS_URL ;;
    esac
    # setsid: the supervisor outlives this shell and does not get the terminal's Ctrl-C. It starts
    # the process again whenever it exits, as compose's restart policy and Kubernetes do.
    exec setsid bash "$ROOT/scripts/lib/supervise.sh" "$name" "$DEV_DIR" -- "$BUN" "$(entry_of "$name")" \
      >>"$DEV_DIR/$name.log" 2>&1 </dev/null
  ) &
  local deadline=$((SECONDS + 5))
  until pid=$(live_pid "$name"); do
    ((SECONDS < deadline)) || die "the supervisor of $name did not start"
    sleep 0.05
  done
  log "started $name (supervisor pid $pid, port $port, log ${DEV_DIR#"$ROOT"/}/$name.log)"
}

wait_ready() {
  local name=$1 port deadline
  port=$(port_of "$name")
  deadline=$((SECONDS + READY_TIMEOUT_S))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    live_pid "$name" >/dev/null || { tail -n 20 "$DEV_DIR/$name.log" >&2 || true; die "the supervisor of $name exited"; }
    ((SECONDS < deadline)) || die "$name not ready on port $port after ${READY_TIMEOUT_S}s (see .state/dev/$name.log)"
    sleep 0.3
  done
}

# SIGTERM to the supervisor (it forwards it and does not restart), then SIGKILL to its whole
# session after STOP_TIMEOUT_S: only pids from our own pid files.
stop_one() {
  local name=$1 pid deadline
  if pid=$(live_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    log "stopped $name"
  fi
  rm -f "$DEV_DIR/$name.pid" "$DEV_DIR/$name.supervisor.pid"
}

start_consumers() {
  local name
  for name in $(consumer_names); do start_one "$name"; done
  for name in $(consumer_names); do wait_ready "$name"; done
}

# One at a time, as a rolling restart does: a Kafka member leaving starts a rebalance, and a
# member committing its last batch during that rebalance may not get the commit through.
stop_consumers() {
  local name
  for name in $(started_consumers); do stop_one "$name"; done
}

# Starts replicas 0..N-1 of one consumer kind and stops any beyond, waiting for the new ones to be ready.
scale() {
  local kind=$1 count=$2 name i
  [[ $kind == rabbitmq || $kind == kafka ]] || die "scale: kind must be rabbitmq or kafka"
  [[ $count =~ ^[0-9]+$ ]] || die "scale: N must be a number"
  for name in $(started_consumers); do
    [[ $name == "$kind-consumer-"* ]] || continue
    i=${name##*-}
    ((i >= count)) && stop_one "$name"
  done
  for ((i = 0; i < count; i++)); do start_one "$kind-consumer-$i"; done
  for ((i = 0; i < count; i++)); do wait_ready "$kind-consumer-$i"; done
}

status() {
  local name pid port state
  for name in api $(consumer_names); do
    port=$(port_of "$name")
    if live_pid "$name" >/dev/null; then
      pid=$(process_pid "$name" || echo -)
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then state=ready; else state="not ready"; fi
      printf '  %-22s pid %-8s http://127.0.0.1:%s  %-10s restarts %s\n' "$name" "$pid" "$port" "$state" \
        "$(cat "$DEV_DIR/$name.restarts" 2>/dev/null || echo 0)"
    else
      printf '  %-22s stopped\n' "$name"
    fi
  done
}

urls() {
  cat <<URLS
[dev] up:
  API          http://127.0.0.1:$API_PORT  (POST /process, POST /process/batch, Swagger UI /swagger)
  consumers    RabbitMQ->Valkey: ports $RABBITMQ_CONSUMER_PORT..$((RABBITMQ_CONSUMER_PORT + RABBITMQ_CONSUMER_REPLICAS - 1)), Kafka->Redis: ports $KAFKA_CONSUMER_PORT..$((KAFKA_CONSUMER_PORT + KAFKA_CONSUMER_REPLICAS - 1))  (/healthz /readyz /metrics)
  RabbitMQ UI  http://127.0.0.1:$([[ ${TOPOLOGY:-single} == ha ]] && echo "$RABBITMQ_HA_MANAGEMENT_PORT" || echo "$RABBITMQ_MANAGEMENT_PORT")  (guest/guest)  topology: ${TOPOLOGY:-single}
  Prometheus   http://127.0.0.1:$PROMETHEUS_PORT
  logs         .state/dev/*.log     stop: make dev-down
URLS
}

case ${1:-} in
  up)
    bash "$ROOT/scripts/services.sh" up
    start_one api
    wait_ready api
    start_consumers
    status
    urls
    ;;
  down)
    stop_consumers
    stop_one api
    ;;
  status) status ;;
  stop-consumers) stop_consumers ;;
  start-consumers) start_consumers; status ;;
  scale) scale "${2:-}" "${3:-}" ;;
  pid) process_pid "${2:-}" || die "${2:-?} is not running" ;;
  *) die "usage: scripts/dev.sh up|down|status|stop-consumers|start-consumers|scale KIND N|pid NAME" ;;
esac
