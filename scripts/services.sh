#!/usr/bin/env bash
# The native stack: installs what is missing (Debian 12), then runs RabbitMQ, Kafka (KRaft),
# Valkey, Redis and Prometheus on loopback, each in its own process group under .state/.
#
#   scripts/services.sh up|down|status|logs [SERVICE...]
#   scripts/services.sh kill SERVICE [SIGNAL]   signal (default KILL) to the server's whole process group,
#                                             for fault tests; `up SERVICE` starts it again
#
# SERVICE is any of: rabbitmq kafka valkey redis prometheus (default: all).
# Idempotent: a healthy instance this script started is reused; a healthy server of the same
# kind already on the port is reused and left alone; anything else on the port is an error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/env.sh
source "$ROOT/scripts/lib/env.sh"
STATE_DIR=${STATE_DIR:-$ROOT/.state}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}
ALL_SERVICES=(rabbitmq kafka valkey redis prometheus)

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# ---------- generic helpers ----------

port_open() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

port_holder() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1
}

pid_file() { echo "$STATE_DIR/$1/$1.pid"; }

# The pid of a service this script started, if it still runs.
running_pid() {
  local file
  file=$(pid_file "$1")
  [[ -f "$file" ]] || return 1
  local pid
  pid=$(<"$file")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  rm -f "$file"
  return 1
}

# Starts a command in a new session, so that `down` can stop it and every child it forked.
spawn() {
  local name=$1 logfile=$2
  shift 2
  mkdir -p "$STATE_DIR/$name"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

wait_ready() {
  local name=$1 check=$2 logfile=$3
  local deadline=$((SECONDS + READY_TIMEOUT_S)) next_note=$((SECONDS + 5))
  until "$check"; do
    if ! running_pid "$name" >/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 25 "$logfile" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${READY_TIMEOUT_S}s; last lines of $logfile:"
      tail -n 25 "$logfile" >&2 || true
      exit 1
    fi
    if ((SECONDS >= next_note)); then
      log "waiting for $name ($((SECONDS + READY_TIMEOUT_S - deadline))s)..."
      next_note=$((SECONDS + 5))
    fi
    sleep 0.5
  done
}

# Common start logic: reuse, refuse a foreign port holder, or start and wait.
ensure_running() {
  local name=$1 port=$2 check=$3 start=$4 logfile=$5
  if running_pid "$name" >/dev/null; then
    if "$check"; then
      log "$name already running on $BIND_HOST:$port (pid $(running_pid "$name"))"
      return 0
    fi
    log "$name is starting (pid $(running_pid "$name")); waiting"
    wait_ready "$name" "$check" "$logfile"
    return 0
  fi
  if port_open "$port"; then
    if "$check"; then
      log "$name: reusing the healthy server already on $BIND_HOST:$port (not started here, will not be stopped here)"
      return 0
    fi
    die "$name cannot start: port $port on $BIND_HOST is held by $(port_holder "$port" || echo 'another process'), which is not a healthy $name"
  fi
  log "starting $name on $BIND_HOST:$port (log: $logfile)"
  "$start"
  wait_ready "$name" "$check" "$logfile"
  log "$name ready on $BIND_HOST:$port"
}

stop_service() {
  local name=$1 pid
  if ! pid=$(running_pid "$name"); then
    log "$name not running (nothing started here)"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 30s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  # Stragglers of the same session (e.g. Erlang helper processes).
  pkill -KILL -s "$pid" 2>/dev/null || true
  rm -f "$(pid_file "$name")"
}

# ---------- installation ----------

APT_UPDATED=0
apt_install() {
  local packages=("$@")
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  # Debian's packages start their daemon on install; the project runs its own instances instead.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  log "apt-get install ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
  ((own_policy == 1)) && rm -f /usr/sbin/policy-rc.d
  return 0
}

ensure_backports() {
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding Debian bookworm-backports (for valkey-server)"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
    APT_UPDATED=0
  fi
}

install_rabbitmq() { command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server; }
install_redis() { command -v redis-server >/dev/null || apt_install redis-server; }
install_prometheus() { command -v prometheus >/dev/null || apt_install prometheus; }
install_valkey() {
  command -v valkey-server >/dev/null && return 0
  ensure_backports
  apt_install -t bookworm-backports valkey-server
}

KAFKA_LIBS="$STATE_DIR/kafka/libs"
install_kafka() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  local stamp="$KAFKA_LIBS/.pom.sha256" want
  want=$(sha256sum "$ROOT/scripts/kafka/pom.xml" | cut -d' ' -f1)
  [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]] && return 0
  log "fetching the Kafka broker jars from Maven Central (scripts/kafka/pom.xml)"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$STATE_DIR/kafka"
  mvn -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >"$STATE_DIR/kafka/maven.log" 2>&1 ||
    { tail -n 30 "$STATE_DIR/kafka/maven.log" >&2; die "could not fetch the Kafka jars (log: $STATE_DIR/kafka/maven.log)"; }
  echo "$want" >"$stamp"
}

# ---------- RabbitMQ ----------

RABBITMQ_DIR="$STATE_DIR/rabbitmq"
rabbitmq_env() {
  export HOME="$RABBITMQ_DIR/home" # holds the Erlang cookie rabbitmqctl needs too
  export RABBITMQ_NODENAME=weather@localhost
  export RABBITMQ_NODE_IP_ADDRESS="$BIND_HOST" RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT ERL_EPMD_ADDRESS="$BIND_HOST" ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
  export RABBITMQ_MNESIA_BASE="$RABBITMQ_DIR/mnesia" RABBITMQ_LOG_BASE="$RABBITMQ_DIR/log"
  export RABBITMQ_CONFIG_FILE="$RABBITMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_DIR/enabled_plugins"
  export RABBITMQ_PID_FILE="$RABBITMQ_DIR/beam.pid"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {${BIND_HOST//./,}}"
}
rabbitmq_ready() {
  port_open "$RABBITMQ_PORT" &&
    curl -fsS -m 2 -u guest:guest "http://$BIND_HOST:$RABBITMQ_MANAGEMENT_PORT/api/health/checks/alarms" >/dev/null 2>&1
}
start_rabbitmq() {
  mkdir -p "$RABBITMQ_DIR"/{home,mnesia,log}
  cat >"$RABBITMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = $BIND_HOST:$RABBITMQ_PORT
management.tcp.ip = $BIND_HOST
management.tcp.port = $RABBITMQ_MANAGEMENT_PORT
loopback_users.guest = true
log.file.level = info
EOF
  echo '[rabbitmq_management].' >"$RABBITMQ_DIR/enabled_plugins"
  rabbitmq_env
  # epmd runs in the same session as the broker, so `down` stops it too.
  spawn rabbitmq "$RABBITMQ_DIR/server.log" bash -c '
    port_in_use() { (exec 3<>"/dev/tcp/$ERL_EPMD_ADDRESS/$ERL_EPMD_PORT") 2>/dev/null; }
    port_in_use || { epmd -address "$ERL_EPMD_ADDRESS" -port "$ERL_EPMD_PORT" & }
    exec /usr/lib/rabbitmq/bin/rabbitmq-server'
}

# ---------- Kafka ----------

KAFKA_DIR="$STATE_DIR/kafka"
kafka_java_args() {
  KAFKA_JAVA=(java -Xms"${KAFKA_HEAP_MB}m" -Xmx"${KAFKA_HEAP_MB}m" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR/log"
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.properties" -cp "$KAFKA_LIBS/*")
}
kafka_ready() {
  port_open "$KAFKA_PORT" && { [[ ! -f "$KAFKA_DIR/log/server.log" ]] || grep -q 'Kafka Server started' "$KAFKA_DIR/log/server.log"; }
}
start_kafka() {
  mkdir -p "$KAFKA_DIR/log" "$KAFKA_DIR/data"
  kafka_java_args
  sed -e "s|@BIND_HOST@|$BIND_HOST|g" -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@KAFKA_DATA_DIR@|$KAFKA_DIR/data|g" \
    "$ROOT/scripts/kafka/server.properties.template" >"$KAFKA_DIR/server.properties"
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    log "formatting Kafka storage (once) in $KAFKA_DIR/data"
    local cluster_id
    cluster_id=$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid)
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/format.log" 2>&1 ||
      { tail -n 20 "$KAFKA_DIR/format.log" >&2; die "Kafka storage format failed"; }
  fi
  : >"$KAFKA_DIR/log/server.log"
  spawn kafka "$KAFKA_DIR/stdout.log" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
}

# ---------- Valkey and Redis (same protocol, same shape) ----------

kv_start() {
  local name=$1 server=$2 port=$3 dir="$STATE_DIR/$1"
  mkdir -p "$dir"
  # noeviction: dedup keys and counters must never be evicted to make room.
  cat >"$dir/$name.conf" <<EOF
bind $BIND_HOST
port $port
protected-mode yes
daemonize no
dir $dir
logfile $dir/$name.log
maxmemory-policy noeviction
appendonly yes
appendfsync everysec
save ""
EOF
  spawn "$name" "$dir/stdout.log" "$server" "$dir/$name.conf"
}
valkey_ready() { [[ "$(valkey-cli -h "$BIND_HOST" -p "$VALKEY_PORT" ping 2>/dev/null)" == PONG ]] && valkey-cli -h "$BIND_HOST" -p "$VALKEY_PORT" info server 2>/dev/null | grep -q '^valkey_version:'; }
redis_ready() { [[ "$(redis-cli -h "$BIND_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
start_valkey() { kv_start valkey valkey-server "$VALKEY_PORT"; }
start_redis() { kv_start redis redis-server "$REDIS_PORT"; }

# ---------- Prometheus ----------

PROMETHEUS_DIR="$STATE_DIR/prometheus"
prometheus_ready() { curl -fsS -m 2 "http://$BIND_HOST:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; }
start_prometheus() {
  mkdir -p "$PROMETHEUS_DIR/data"
  local config="$ROOT/prometheus/prometheus.native.yml"
  [[ -f "$config" ]] || die "missing $config"
  spawn prometheus "$PROMETHEUS_DIR/prometheus.log" prometheus \
    --config.file="$config" --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --web.listen-address="$BIND_HOST:$PROMETHEUS_PORT" --web.enable-lifecycle \
    --storage.tsdb.retention.time=2d
}

# ---------- commands ----------

service_port() {
  case $1 in
    rabbitmq) echo "$RABBITMQ_PORT" ;; kafka) echo "$KAFKA_PORT" ;; valkey) echo "$VALKEY_PORT" ;;
    redis) echo "$REDIS_PORT" ;; prometheus) echo "$PROMETHEUS_PORT" ;;
  esac
}
service_log() {
  case $1 in
    rabbitmq) echo "$RABBITMQ_DIR/server.log" ;; kafka) echo "$KAFKA_DIR/log/server.log" ;;
    valkey | redis) echo "$STATE_DIR/$1/$1.log" ;; prometheus) echo "$PROMETHEUS_DIR/prometheus.log" ;;
  esac
}

up() {
  local name
  for name in "$@"; do "install_$name"; done
  for name in "$@"; do
    ensure_running "$name" "$(service_port "$name")" "${name}_ready" "start_$name" "$(service_log "$name")"
  done
}

status() {
  local name pid state rc=0
  for name in "$@"; do
    if pid=$(running_pid "$name"); then
      if "${name}_ready"; then state="ready (pid $pid)"; else state="starting or unhealthy (pid $pid)"; rc=1; fi
    elif port_open "$(service_port "$name")" && "${name}_ready"; then
      state="ready (not started here)"
    else
      state="down"; rc=1
    fi
    printf '%-11s %-22s %s\n' "$name" "$BIND_HOST:$(service_port "$name")" "$state"
  done
  return "$rc"
}

main() {
  local command=${1:-} signal=""
  [[ $# -gt 0 ]] && shift
  if [[ $command == kill && $# -ge 2 ]]; then signal=${2#SIG}; set -- "$1"; fi
  local services=("$@")
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  local name
  for name in "${services[@]}"; do
    [[ " ${ALL_SERVICES[*]} " == *" $name "* ]] || die "unknown service '$name' (known: ${ALL_SERVICES[*]})"
  done
  case $command in
    up) up "${services[@]}" ;;
    down) for ((i = ${#services[@]} - 1; i >= 0; i--)); do stop_service "${services[i]}"; done ;;
    status) status "${services[@]}" ;;
    kill)
      local pid
      pid=$(running_pid "${services[0]}") || die "${services[0]} is not running (started here)"
      kill "-${signal:-KILL}" -- "-$pid"
      log "sent SIG${signal:-KILL} to ${services[0]} (process group $pid)"
      ;;
    logs) for name in "${services[@]}"; do echo "== $name: $(service_log "$name")"; tail -n 30 "$(service_log "$name")" 2>/dev/null || true; done ;;
    *) die "usage: $0 up|down|status|logs [${ALL_SERVICES[*]}] | kill SERVICE [SIGNAL]" ;;
  esac
}

main "$@"
