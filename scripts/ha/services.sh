# shellcheck shell=bash
# The native HA topology (TOPOLOGY=ha): three RabbitMQ 4 nodes clustered on loopback ports, with
# an epmd of their own, and three Kafka brokers in KRaft combined mode (three controller voters).
# Sourced by scripts/services.sh, whose helpers (spawn, running_pid, rabbitmq_node_env, ...) it uses.
#
# Node i (1-3): RabbitMQ `weather-ha-i@localhost` on RABBITMQ_HA_PORT + i - 1 (management
# RABBITMQ_HA_MANAGEMENT_PORT + i - 1, distribution RABBITMQ_HA_DIST_PORT + i - 1), data in
# .state/rabbitmq-ha-i/; Kafka node.id i on KAFKA_HA_PORT + i - 1 (controller
# KAFKA_HA_CONTROLLER_PORT + i - 1), data in .state/kafka-ha-i/. Each pid file holds the server
# process itself. Start-up waits until the cluster is whole (scripts/ha/cluster.ts), never on a sleep.
#
# Each node runs in a cgroup (v2) of its own, so that `cut NODE` can drop every packet it sends,
# whatever socket it uses (scripts/ha/netcut.sh).

HA_NODES=(1 2 3)
HA_RABBITMQ=(rabbitmq-ha-1 rabbitmq-ha-2 rabbitmq-ha-3)
HA_KAFKA=(kafka-ha-1 kafka-ha-2 kafka-ha-3)
HA_READY_TIMEOUT_S=${HA_READY_TIMEOUT_S:-240}
BUN=${BUN:-$ROOT/.tools/bun/node_modules/.bin/bun}

ha_enabled() {
  case ${TOPOLOGY:-single} in
    single) return 1 ;;
    ha) return 0 ;;
    *) die "TOPOLOGY must be single or ha (got '$TOPOLOGY')" ;;
  esac
}
ha_node() { [[ $1 =~ ^(rabbitmq|kafka)-ha-[123]$ ]]; }
ha_index() { echo "${1##*-}"; }

# ---------- cgroups: one per node, for the network cut ----------

# The cgroup v2 hierarchy (/sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one).
ha_cgroup_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }
# This checkout's nodes live under one parent, named after the checkout, so that two clones never share one.
HA_CGROUP_PARENT="weather-tweets-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
ha_cgroup_path() { echo "/$HA_CGROUP_PARENT/$1"; }

# Starts a server like spawn_rooted, first moving the process into the node's cgroup: the wrapper
# shell writes its own pid there, then execs, so the pid file still holds the server itself.
ha_spawn() {
  local name=$1 logfile=$2
  shift 2
  local root cgroup=""
  root=$(ha_cgroup_root)
  if [[ -n "$root" ]] && mkdir -p "$root$(ha_cgroup_path "$name")" 2>/dev/null; then
    cgroup="$root$(ha_cgroup_path "$name")/cgroup.procs"
  else
    log "$name: no cgroup v2 hierarchy to place it in: it runs, but \`cut $name\` will refuse"
  fi
  spawn "$name" "$logfile" bash -c '[[ -z "$0" ]] || echo $$ >"$0"; exec "$@"' "$cgroup" "$@"
}
# Removes a stopped node's cgroup, once the last of its processes (killed a moment ago, maybe) is gone.
ha_cgroup_remove() {
  local root dir deadline=$((SECONDS + 10))
  root=$(ha_cgroup_root)
  [[ -n "$root" ]] || return 0
  dir="$root$(ha_cgroup_path "$1")"
  while [[ -s "$dir/cgroup.procs" ]] && ((SECONDS < deadline)); do sleep 0.2; done
  rmdir "$dir" 2>/dev/null || true
  rmdir "$root/$HA_CGROUP_PARENT" 2>/dev/null || true
}

# ---------- RabbitMQ ----------

ha_rabbitmq_port() { echo $((RABBITMQ_HA_PORT + $1 - 1)); }
ha_rabbitmq_management_port() { echo $((RABBITMQ_HA_MANAGEMENT_PORT + $1 - 1)); }
ha_rabbitmq_dist_port() { echo $((RABBITMQ_HA_DIST_PORT + $1 - 1)); }

# One cookie for the three nodes (and rabbitmqctl): nodes with different cookies cannot cluster.
HA_COOKIE="$STATE_DIR/rabbitmq-ha.cookie"
ha_rabbitmq_cookie() {
  [[ -s "$HA_COOKIE" ]] && return 0
  mkdir -p "$STATE_DIR"
  (umask 077 && head -c 24 /dev/urandom | sha256sum | cut -c1-40 >"$HA_COOKIE")
}

start_rabbitmq_ha_node() {
  local i=$1 name="rabbitmq-ha-$1" dir="$STATE_DIR/rabbitmq-ha-$1"
  local port management_port dist_port
  port=$(ha_rabbitmq_port "$i")
  management_port=$(ha_rabbitmq_management_port "$i")
  dist_port=$(ha_rabbitmq_dist_port "$i")
  mkdir -p "$dir"/{home,log}
  ha_rabbitmq_cookie
  install -m 400 "$HA_COOKIE" "$dir/home/.erlang.cookie"
  # classic_config: a blank node joins the others listed. pause_minority applies only to a node
  # still on Mnesia (made before Khepri was enabled here): with Khepri, Raft decides.
  {
    rabbitmq_conf "$port" "$management_port"
    cat <<EOF
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = weather-ha-1@localhost
cluster_formation.classic_config.nodes.2 = weather-ha-2@localhost
cluster_formation.classic_config.nodes.3 = weather-ha-3@localhost
cluster_partition_handling = pause_minority
EOF
  } >"$dir/rabbitmq.conf"
  echo '[rabbitmq_management].' >"$dir/enabled_plugins"
  (
    rabbitmq_node_env "$dir" "weather-ha-$i@localhost" "$port" "$dist_port"
    export ERL_EPMD_PORT="$RABBITMQ_HA_EPMD_PORT"
    # net_ticktime 10 s (60 by default): a node cut off is noticed within 7.5-12.5 s. The
    # scheduler flags suit three nodes sharing a small machine (docs/deployment.md, "HA topology").
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS -kernel net_ticktime 10 ${RABBITMQ_HA_ERL_ARGS:-}"
    # A blank node starts with every 4.0 feature and Khepri, the Raft-based metadata store: after
    # a partition, however short, the nodes agree again by themselves (Mnesia, 4.0's default, may
    # stay split until a node is restarted). Ignored by a node that has data already.
    export RABBITMQ_FEATURE_FLAGS=rabbitmq_4.0.0,khepri_db
    ha_spawn "$name" "$dir/server.log" "${TRIXIE[@]}" run /usr/lib/rabbitmq/bin/rabbitmq-server
  )
}

# The HA nodes' own port mapper (the single node's epmd may be stopped while they run).
start_epmd-ha() {
  mkdir -p "$STATE_DIR/epmd-ha"
  spawn_rooted epmd-ha "$STATE_DIR/epmd-ha/epmd.log" epmd -address "$BIND_HOST" -port "$RABBITMQ_HA_EPMD_PORT"
}
epmd-ha_ready() { port_open "$RABBITMQ_HA_EPMD_PORT"; }
install_epmd-ha() { ensure_trixie; }

# ---------- Kafka ----------

ha_kafka_port() { echo $((KAFKA_HA_PORT + $1 - 1)); }
ha_kafka_controller_port() { echo $((KAFKA_HA_CONTROLLER_PORT + $1 - 1)); }
HA_KAFKA_CLUSTER_ID="$STATE_DIR/kafka-ha.cluster-id"

start_kafka_ha_node() {
  local i=$1 name="kafka-ha-$1" dir="$STATE_DIR/kafka-ha-$1" voters="" j
  for j in "${HA_NODES[@]}"; do voters+="${voters:+,}$j@$BIND_HOST:$(ha_kafka_controller_port "$j")"; done
  mkdir -p "$dir/log" "$dir/data"
  kafka_java_args "$KAFKA_HA_HEAP_MB" "$dir/log"
  sed -e "s|@NODE_ID@|$i|g" -e "s|@VOTERS@|$voters|g" -e "s|@BIND_HOST@|$BIND_HOST|g" \
    -e "s|@PORT@|$(ha_kafka_port "$i")|g" -e "s|@CONTROLLER_PORT@|$(ha_kafka_controller_port "$i")|g" \
    -e "s|@DATA_DIR@|$dir/data|g" "$ROOT/scripts/ha/kafka.properties.template" >"$dir/server.properties"
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    # Every node of the cluster is formatted with the same cluster id, once.
    [[ -s "$HA_KAFKA_CLUSTER_ID" ]] || "${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid >"$HA_KAFKA_CLUSTER_ID"
    log "formatting $name's storage (once) in $dir/data"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$(<"$HA_KAFKA_CLUSTER_ID")" \
      -c "$dir/server.properties" >>"$dir/format.log" 2>&1 ||
      { tail -n 20 "$dir/format.log" >&2; die "formatting $name's storage failed"; }
  fi
  : >"$dir/log/server.log"
  ha_spawn "$name" "$dir/stdout.log" "${KAFKA_JAVA[@]}" kafka.Kafka "$dir/server.properties"
}

# ---------- the nodes as services (names rabbitmq-ha-1 ... kafka-ha-3) ----------

for ha_i in "${HA_NODES[@]}"; do
  eval "start_rabbitmq-ha-$ha_i() { start_rabbitmq_ha_node $ha_i; }"
  eval "start_kafka-ha-$ha_i() { start_kafka_ha_node $ha_i; }"
  # A node alone: its client port answers. The cluster's readiness is ha_wait_cluster's.
  eval "rabbitmq-ha-${ha_i}_ready() { port_open \$(ha_rabbitmq_port $ha_i); }"
  eval "kafka-ha-${ha_i}_ready() { port_open \$(ha_kafka_port $ha_i); }"
  eval "install_rabbitmq-ha-$ha_i() { ensure_trixie; }"
  eval "install_kafka-ha-$ha_i() { install_kafka; }"
done
unset ha_i

ha_service_port() {
  case $1 in
    rabbitmq-ha-*) ha_rabbitmq_port "$(ha_index "$1")" ;;
    kafka-ha-*) ha_kafka_port "$(ha_index "$1")" ;;
    epmd-ha) echo "$RABBITMQ_HA_EPMD_PORT" ;;
  esac
}
ha_service_log() {
  case $1 in
    rabbitmq-ha-*) echo "$STATE_DIR/$1/server.log" ;;
    kafka-ha-*) echo "$STATE_DIR/$1/log/server.log" ;;
    epmd-ha) echo "$STATE_DIR/epmd-ha/epmd.log" ;;
  esac
}

# Every port a node listens on (what a network cut closes).
ha_node_ports() {
  local i
  i=$(ha_index "$1")
  case $1 in
    rabbitmq-ha-*)
      echo "$(ha_rabbitmq_port "$i") $(ha_rabbitmq_management_port "$i") $(ha_rabbitmq_dist_port "$i")"
      ;;
    kafka-ha-*) echo "$(ha_kafka_port "$i") $(ha_kafka_controller_port "$i")" ;;
  esac
}

ha_rabbitmq_running() {
  local name
  for name in "${HA_RABBITMQ[@]}"; do running_pid "$name" >/dev/null && return 0; done
  return 1
}
# The HA nodes this checkout has running (what a bare `down` stops too).
ha_started() {
  local name
  for name in "${HA_RABBITMQ[@]}" "${HA_KAFKA[@]}"; do running_pid "$name" >/dev/null && echo "$name"; done
  return 0
}

# `rabbitmq` and `kafka` under TOPOLOGY=ha: the whole cluster (RabbitMQ with its port mapper first).
ha_expand() {
  case $1 in
    rabbitmq) echo epmd-ha "${HA_RABBITMQ[@]}" ;;
    kafka) echo "${HA_KAFKA[@]}" ;;
    rabbitmq-ha-*) echo epmd-ha "$1" ;;
    *) echo "$1" ;;
  esac
}

ha_cluster_problems() {
  [[ -x "$BUN" ]] || die "the HA readiness check needs Bun: run \`make setup\` first"
  "$BUN" "$ROOT/scripts/ha/cluster.ts" ready "$1" 2>&1
}

# Waits until the cluster of KIND is whole (every node running and in it, quorum queues / ISRs
# complete, controller quorum caught up). Fails at once if a node of KIND is not running: the
# cluster cannot become whole without it.
ha_wait_cluster() {
  local kind=$1 deadline=$((SECONDS + HA_READY_TIMEOUT_S)) next_note=$((SECONDS + 10)) problems name
  local nodes=("${HA_RABBITMQ[@]}")
  [[ $kind == kafka ]] && nodes=("${HA_KAFKA[@]}")
  until problems=$(ha_cluster_problems "$kind"); do
    for name in "${nodes[@]}"; do
      running_pid "$name" >/dev/null && continue
      log "$name is not running, so the $kind cluster cannot be whole; last lines of $(ha_service_log "$name"):"
      tail -n 25 "$(ha_service_log "$name")" >&2 || true
      exit 1
    done
    if ((SECONDS >= deadline)); then
      log "the $kind cluster is not whole after ${HA_READY_TIMEOUT_S}s:"
      printf '  %s\n' "$problems" >&2
      exit 1
    fi
    if ((SECONDS >= next_note)); then
      log "waiting for the $kind cluster: $(tr '\n' ';' <<<"$problems" | cut -c1-200)"
      next_note=$((SECONDS + 10))
    fi
    sleep 0.5
  done
}

# Starts the nodes named that are not running, all at once (a cluster forms only with its
# peers), then waits for their kind's cluster to be whole.
ha_up() {
  local kind name port started
  for kind in rabbitmq kafka; do
    started=0
    for name in "$@"; do
      [[ $name == "$kind-ha-"* ]] || continue
      started=1
      if running_pid "$name" >/dev/null; then
        log "$name already running (pid $(running_pid "$name"))"
        continue
      fi
      port=$(ha_service_port "$name")
      if port_open "$port"; then
        die "$name cannot start: port $port on $BIND_HOST is held by $(port_holder "$port" || echo 'another process')"
      fi
      log "starting $name on $BIND_HOST:$port (log: $(ha_service_log "$name"))"
      "start_$name"
    done
    ((started)) || continue
    ha_wait_cluster "$kind"
    log "$kind cluster whole: three nodes running, every replica in sync"
  done
}

# Stops nodes, all at once: one by one, each would wait on the others for its controlled shutdown
# (Kafka) while they are about to go too. A node's cut, if any, is healed first (it would come
# back cut off), and its cgroup removed.
ha_down() {
  local name pids=() cuts
  cuts=" $(ha_cuts | tr '\n' ' ') "
  for name in "$@"; do
    [[ $cuts != *" $name "* ]] || ha_heal "$name"
    stop_service "$name" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  for name in "$@"; do ha_cgroup_remove "$name"; done
}

# One line per cluster after the nodes' own lines.
ha_status() {
  local kind problems rc=0
  for kind in rabbitmq kafka; do
    [[ " $* " == *" $kind-ha-"* ]] || continue
    if problems=$(ha_cluster_problems "$kind"); then
      printf '%-11s %-22s %s\n' "$kind-ha" "cluster" "whole"
    else
      printf '%-11s %-22s %s\n' "$kind-ha" "cluster" "not whole: $(tr '\n' ';' <<<"$problems" | cut -c1-160)"
      rc=1
    fi
  done
  return "$rc"
}
