#!/usr/bin/env bash
# The native stack: installs what is missing, then runs RabbitMQ, Kafka (KRaft), Valkey, Redis and
# Prometheus on loopback, each in its own session under .state/<server>/.
#
#   scripts/services.sh up|down|status|logs|install [SERVICE...]
#   scripts/services.sh kill SERVICE [SIGNAL]   signal (default KILL) to the server's whole process group,
#                                             for fault tests; `up SERVICE` starts it again
#   scripts/services.sh cut NODE | heal [NODE]  TOPOLOGY=ha: one node's network cut, and its end
#
# SERVICE is any of: rabbitmq kafka valkey redis prometheus (default: all).
# TOPOLOGY=ha (default single): `rabbitmq` is three clustered nodes, `kafka` three KRaft brokers
# (scripts/ha/services.sh); a node alone is rabbitmq-ha-1..3 or kafka-ha-1..3.
# RabbitMQ, Valkey, Redis and Prometheus run from a Debian 13 root file system under .tools/trixie
# (scripts/trixie/root.sh: the versions the images use, without upgrading the host); Kafka runs
# from its Maven Central jars on the host's Java. Each pid file holds the server process itself:
# kill -9 of it kills the server (docs/deployment.md, "Native stack").
# Idempotent: a healthy instance this script started is reused; a healthy server of the same
# kind already on the port is reused and left alone; anything else on the port is an error.
set -euo pipefail

LOG_PREFIX=services
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}
ALL_SERVICES=(rabbitmq kafka valkey redis prometheus)

# ---------- generic helpers ----------

port_open() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

port_holder() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1
}

pid_file() { echo "$STATE_DIR/$1/$1.pid"; }

# Whether a process runs. A killed server whose parent is gone may stay a zombie here (pid 1 does
# not reap it), and kill -0 succeeds on a zombie: its state says it is dead.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]]
}

# The pid of a service this script started, if it still runs.
running_pid() {
  local file
  file=$(pid_file "$1")
  [[ -f "$file" ]] || return 1
  local pid
  pid=$(<"$file")
  [[ -n "$pid" ]] && alive "$pid" && { echo "$pid"; return 0; }
  rm -f "$file"
  return 1
}

# Starts a command in a new session, so that `down` can stop it and every child it forked.
# setsid does not fork here (a background job is no group leader) and every wrapper down to the
# server execs, so $! is the server's own pid.
spawn() {
  local name=$1 logfile=$2
  shift 2
  mkdir -p "$STATE_DIR/$name"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

# The same, inside the trixie root (the host's network, the project folder at its own path).
TRIXIE=(bash "$ROOT/scripts/trixie/root.sh")
spawn_rooted() {
  local name=$1 logfile=$2
  shift 2
  spawn "$name" "$logfile" "${TRIXIE[@]}" run "$@"
}
# Runs a client (valkey-cli, rabbitmqctl, ...) of the trixie root in the foreground.
rooted() { "${TRIXIE[@]}" run "$@"; }

# Waits until CHECK passes. Returns 3 if the process exits first and TOLERATE_EXIT=1 (an earlier
# instance that was dying, e.g. just killed -9), otherwise fails with the end of its log.
wait_ready() {
  local name=$1 check=$2 logfile=$3
  local deadline=$((SECONDS + READY_TIMEOUT_S)) next_note=$((SECONDS + 5))
  until "$check"; do
    if ! running_pid "$name" >/dev/null; then
      [[ ${TOLERATE_EXIT:-0} == 1 ]] && return 3
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
    log "$name is starting or stopping (pid $(running_pid "$name")); waiting"
    TOLERATE_EXIT=1 wait_ready "$name" "$check" "$logfile" && return 0
    log "$name (started earlier) exited; starting it again"
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
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
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
    apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
    "${packages[@]}" >/dev/null
}

TRIXIE_READY=0
ensure_trixie() {
  ((TRIXIE_READY == 1)) && return 0
  "${TRIXIE[@]}" ensure
  TRIXIE_READY=1
}
install_rabbitmq() { ensure_trixie; }
install_valkey() { ensure_trixie; }
install_redis() { ensure_trixie; }
install_prometheus() { ensure_trixie; }

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
# One node per instance name; the default instance is `rabbitmq`. Another node (the HA topology)
# is the same call with its own name and ports: rabbitmq_start_node rabbitmq-2 weather-2@localhost ...
# All nodes of this machine register with one epmd on RABBITMQ_EPMD_PORT, run as its own service.

# Major.minor of the RabbitMQ in the trixie root: a data directory per series, since a node does
# not start on another series' database (3.10's cannot be upgraded to 4.0 in place anyway).
rabbitmq_series() {
  chroot "$ROOT/.tools/trixie/root" dpkg-query -W -f '${Version}' rabbitmq-server | sed -E 's/^([0-9]+\.[0-9]+).*/\1/'
}
rabbitmq_node_env() {
  local dir=$1 node=$2 port=$3 dist_port=$4
  export HOME="$dir/home" # holds the Erlang cookie rabbitmqctl needs too
  export RABBITMQ_NODENAME=$node
  export RABBITMQ_NODE_IP_ADDRESS="$BIND_HOST" RABBITMQ_NODE_PORT="$port"
  export RABBITMQ_DIST_PORT="$dist_port" ERL_EPMD_ADDRESS="$BIND_HOST" ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia-$(rabbitmq_series)" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_PID_FILE="$dir/beam.pid"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {${BIND_HOST//./,}} -start_epmd false ${RABBITMQ_NODE_ERL_ARGS:-}"
  # The start script then execs the Erlang VM instead of staying as its parent: the pid file
  # holds beam.smp itself.
  export RUNNING_UNDER_SYSTEMD=true
}
# A node is ready when the management API answers and no resource alarm is raised.
rabbitmq_node_ready() {
  local port=$1 management_port=$2
  port_open "$port" &&
    curl -fsS -m 2 -u guest:guest "http://$BIND_HOST:$management_port/api/health/checks/alarms" >/dev/null 2>&1
}
# The settings every RabbitMQ node of ours has: its listeners and the guest user kept to loopback.
rabbitmq_conf() {
  local port=$1 management_port=$2
  cat <<EOF
listeners.tcp.default = $BIND_HOST:$port
management.tcp.ip = $BIND_HOST
management.tcp.port = $management_port
loopback_users.guest = true
log.file.level = info
EOF
}
rabbitmq_start_node() {
  local name=$1 node=$2 port=$3 management_port=$4 dist_port=$5
  local dir="$STATE_DIR/$name"
  mkdir -p "$dir"/{home,log}
  rabbitmq_conf "$port" "$management_port" >"$dir/rabbitmq.conf"
  echo '[rabbitmq_management].' >"$dir/enabled_plugins"
  (
    rabbitmq_node_env "$dir" "$node" "$port" "$dist_port"
    spawn_rooted "$name" "$dir/server.log" /usr/lib/rabbitmq/bin/rabbitmq-server
  )
}
RABBITMQ_DIR="$STATE_DIR/rabbitmq"
rabbitmq_ready() { rabbitmq_node_ready "$RABBITMQ_PORT" "$RABBITMQ_MANAGEMENT_PORT"; }
start_rabbitmq() {
  RABBITMQ_NODE_ERL_ARGS=${RABBITMQ_ERL_ARGS:-} \
    rabbitmq_start_node rabbitmq weather@localhost "$RABBITMQ_PORT" "$RABBITMQ_MANAGEMENT_PORT" "$RABBITMQ_DIST_PORT"
}

# epmd, the Erlang port mapper, in the foreground of its own session (`epmd -daemon`, what the VM
# would start by itself, would escape `down`).
EPMD_DIR="$STATE_DIR/epmd"
epmd_ready() { port_open "$RABBITMQ_EPMD_PORT"; }
start_epmd() {
  mkdir -p "$EPMD_DIR"
  spawn_rooted epmd "$EPMD_DIR/epmd.log" epmd -address "$BIND_HOST" -port "$RABBITMQ_EPMD_PORT"
}
install_epmd() { ensure_trixie; }

# ---------- Kafka ----------

KAFKA_DIR="$STATE_DIR/kafka"
# KAFKA_JAVA: the JVM command line of a broker (heap in MB and log folder: the single node's by default).
kafka_java_args() {
  local heap_mb=${1:-$KAFKA_HEAP_MB} log_dir=${2:-$KAFKA_DIR/log}
  local -a jvm_flags
  read -r -a jvm_flags <<<"${KAFKA_JVM_FLAGS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
  KAFKA_JAVA=(java -Xms"${heap_mb}m" -Xmx"${heap_mb}m" "${jvm_flags[@]}"
    -Djava.awt.headless=true -Dkafka.logs.dir="$log_dir"
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
    -e "s|@KAFKA_NETWORK_THREADS@|${KAFKA_NETWORK_THREADS:-2}|g" -e "s|@KAFKA_IO_THREADS@|${KAFKA_IO_THREADS:-4}|g" \
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
  # noeviction: dedup keys and counters must never be evicted to make room. appendfsync always: a
  # count is on disk before the store answers, so before the consumer acknowledges or commits it
  # (with everysec, a store busy with an earlier fsync answers writes it has not written yet, and a
  # kill -9 then loses counts the brokers will never deliver again).
  cat >"$dir/$name.conf" <<EOF
bind $BIND_HOST
port $port
protected-mode yes
daemonize no
dir $dir
logfile $dir/$name.log
maxmemory $STORE_MAXMEMORY
maxmemory-policy noeviction
appendonly yes
appendfsync always
save ""
EOF
  spawn_rooted "$name" "$dir/stdout.log" "$server" "$dir/$name.conf"
}
# Answers, and is the expected server (Valkey answers Redis clients too).
kv_ready() {
  local cli=$1 port=$2 version_field=$3
  rooted "$cli" -h "$BIND_HOST" -p "$port" info server 2>/dev/null | grep -q "^$version_field:"
}
valkey_ready() { kv_ready valkey-cli "$VALKEY_PORT" valkey_version; }
redis_ready() { kv_ready redis-cli "$REDIS_PORT" redis_version; }
start_valkey() { kv_start valkey valkey-server "$VALKEY_PORT"; }
start_redis() { kv_start redis redis-server "$REDIS_PORT"; }

# ---------- Prometheus ----------

PROMETHEUS_DIR="$STATE_DIR/prometheus"
prometheus_ready() { curl -fsS -m 2 "http://$BIND_HOST:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; }
start_prometheus() {
  mkdir -p "$PROMETHEUS_DIR/data"
  local source="$ROOT/prometheus/prometheus.native.yml" config="$PROMETHEUS_DIR/prometheus.yml"
  [[ -f "$source" ]] || die "missing $source"
  # The file names the default ports (.env.example); a checkout with its own port plan (.env)
  # scrapes its own API and consumer replicas (replica i on RABBITMQ_CONSUMER_PORT+i, as dev.sh).
  sed -e "s/127\.0\.0\.1:3000\b/$BIND_HOST:$API_PORT/" \
    -e "s/127\.0\.0\.1:3101\b/$BIND_HOST:$RABBITMQ_CONSUMER_PORT/" \
    -e "s/127\.0\.0\.1:3102\b/$BIND_HOST:$((RABBITMQ_CONSUMER_PORT + 1))/" \
    -e "s/127\.0\.0\.1:3201\b/$BIND_HOST:$KAFKA_CONSUMER_PORT/" \
    -e "s/127\.0\.0\.1:3202\b/$BIND_HOST:$((KAFKA_CONSUMER_PORT + 1))/" "$source" >"$config"
  spawn_rooted prometheus "$PROMETHEUS_DIR/prometheus.log" prometheus \
    --config.file="$config" --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --web.listen-address="$BIND_HOST:$PROMETHEUS_PORT" --web.enable-lifecycle \
    --storage.tsdb.retention.time=2d
}

# ---------- the HA topology (TOPOLOGY=ha) ----------

# shellcheck source=ha/services.sh
source "$ROOT/scripts/ha/services.sh"
# shellcheck source=ha/netcut.sh
source "$ROOT/scripts/ha/netcut.sh"

# ---------- commands ----------

service_port() {
  case $1 in
    rabbitmq) echo "$RABBITMQ_PORT" ;; kafka) echo "$KAFKA_PORT" ;; valkey) echo "$VALKEY_PORT" ;;
    redis) echo "$REDIS_PORT" ;; prometheus) echo "$PROMETHEUS_PORT" ;; epmd) echo "$RABBITMQ_EPMD_PORT" ;;
    *) ha_service_port "$1" ;;
  esac
}
service_log() {
  case $1 in
    rabbitmq) echo "$RABBITMQ_DIR/server.log" ;; kafka) echo "$KAFKA_DIR/log/server.log" ;;
    valkey | redis) echo "$STATE_DIR/$1/$1.log" ;; prometheus) echo "$PROMETHEUS_DIR/prometheus.log" ;;
    epmd) echo "$EPMD_DIR/epmd.log" ;;
    *) ha_service_log "$1" ;;
  esac
}

up() {
  local name ha_nodes=()
  for name in "$@"; do "install_$name"; done
  for name in "$@"; do
    # The nodes of a cluster start together and are ready together: collected, then started at once.
    if ha_node "$name"; then ha_nodes+=("$name"); continue; fi
    ensure_running "$name" "$(service_port "$name")" "${name}_ready" "start_$name" "$(service_log "$name")"
  done
  ((${#ha_nodes[@]} == 0)) || ha_up "${ha_nodes[@]}"
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
  ha_status "$@" || rc=1
  return "$rc"
}

main() {
  local command=${1:-} signal=""
  [[ $# -gt 0 ]] && shift
  if [[ $command == kill && $# -ge 2 ]]; then signal=${2#SIG}; set -- "$1"; fi
  case $command in
    cut) ha_cut "${1:-}"; return ;;
    heal) ha_heal "${1:-}"; return ;;
  esac
  local services=("$@")
  ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
  # `down` alone stops everything this checkout started, whichever topology it was started in.
  (($# == 0)) && [[ $command == down ]] && services+=($(ha_started))
  local name expanded=()
  for name in "${services[@]}"; do
    if ha_node "$name"; then
      # shellcheck disable=SC2207 # names without spaces
      expanded+=($(ha_expand "$name"))
      continue
    fi
    [[ " ${ALL_SERVICES[*]} " == *" $name "* ]] ||
      die "unknown service '$name' (known: ${ALL_SERVICES[*]}, and the HA nodes ${HA_RABBITMQ[*]} ${HA_KAFKA[*]})"
    if ha_enabled && [[ $name == rabbitmq || $name == kafka ]]; then
      [[ $command == kill ]] && die "kill: TOPOLOGY=ha runs three $name nodes: name one (${name}-ha-1, -2 or -3)"
      # shellcheck disable=SC2207 # names without spaces
      expanded+=($(ha_expand "$name"))
      continue
    fi
    # RabbitMQ comes with its port mapper: started before it, stopped after it.
    [[ $name == rabbitmq ]] && expanded+=(epmd)
    expanded+=("$name")
  done
  # A port mapper named twice (two HA nodes) starts once, before the first node.
  local seen=" " unique=()
  for name in "${expanded[@]}"; do
    [[ $seen == *" $name "* ]] || unique+=("$name")
    seen+="$name "
  done
  services=("${unique[@]}")
  case $command in
    install) for name in "${services[@]}"; do "install_$name"; done ;;
    up) up "${services[@]}" ;;
    down)
      local ha_nodes=()
      for ((i = ${#services[@]} - 1; i >= 0; i--)); do
        name=${services[i]}
        # The nodes of a cluster stop together (scripts/ha/services.sh), before their port mapper.
        if ha_node "$name"; then ha_nodes+=("$name"); continue; fi
        ((${#ha_nodes[@]} == 0)) || { ha_down "${ha_nodes[@]}"; ha_nodes=(); }
        # The HA port mapper stays while a node of this checkout still uses it.
        if [[ $name == epmd-ha ]] && ha_rabbitmq_running; then
          log "epmd-ha kept: an HA RabbitMQ node still runs"
          continue
        fi
        stop_service "$name"
      done
      ((${#ha_nodes[@]} == 0)) || ha_down "${ha_nodes[@]}"
      (($# > 0)) || ha_heal
      ;;
    status) status "${services[@]}" ;;
    kill)
      # The named server only (not the port mapper that comes with RabbitMQ).
      local pid target=${services[-1]}
      pid=$(running_pid "$target") || die "$target is not running (started here)"
      kill "-${signal:-KILL}" -- "-$pid"
      log "sent SIG${signal:-KILL} to $target (process group $pid)"
      ;;
    logs) for name in "${services[@]}"; do echo "== $name: $(service_log "$name")"; tail -n 30 "$(service_log "$name")" 2>/dev/null || true; done ;;
    *) die "usage: $0 up|down|status|logs|install [${ALL_SERVICES[*]}] | kill SERVICE [SIGNAL] | cut NODE | heal [NODE]" ;;
  esac
}

main "$@"
