#!/usr/bin/env bash
# A Docker engine and Compose v2 for `make compose-test`, installed and started only when missing.
#
#   scripts/docker/engine.sh up      a running engine (Debian's docker.io, started here if none
#                                    answers) and `docker compose` v2; prints DOCKER_CONFIG=...
#   scripts/docker/engine.sh down    stops the engine only if this worktree started it
#
# Compose v2: the `docker compose` already there if it is v2, else Debian 13's docker-compose
# package (2.26) from the trixie root (scripts/trixie/root.sh), as a CLI plugin under
# .tools/docker/cli-plugins with DOCKER_CONFIG pointing there. Debian 12's docker-compose is 1.29,
# which refuses compose.yaml (`name:`, `--wait`).
set -euo pipefail

LOG_PREFIX=docker
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
DOCKER_STATE="$STATE_DIR/docker"
PLUGIN_CONFIG="$ROOT/.tools/docker"
ENGINE_TIMEOUT_S=${ENGINE_TIMEOUT_S:-120}


engine_answers() { docker info >/dev/null 2>&1; }

install_engine() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
  log "apt-get install docker.io (Debian 12: Docker 20.10)"
  apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
    docker.io >/dev/null
}

start_engine() {
  engine_answers && return 0
  install_engine
  mkdir -p "$DOCKER_STATE"
  # One starter at a time, machine-wide: the engine is shared by every checkout on this machine.
  exec 8>/run/lock/weather-tweets-dockerd.lock
  flock 8
  if ! engine_answers; then
    log "starting dockerd (log: $DOCKER_STATE/dockerd.log)"
    setsid dockerd >>"$DOCKER_STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$DOCKER_STATE/dockerd.pid"
    local deadline=$((SECONDS + ENGINE_TIMEOUT_S))
    until engine_answers; do
      kill -0 "$(<"$DOCKER_STATE/dockerd.pid")" 2>/dev/null ||
        { tail -n 20 "$DOCKER_STATE/dockerd.log" >&2; die "dockerd exited"; }
      ((SECONDS < deadline)) || { tail -n 20 "$DOCKER_STATE/dockerd.log" >&2; die "dockerd not answering after ${ENGINE_TIMEOUT_S}s"; }
      sleep 0.5
    done
  fi
  exec 8>&-
  log "engine $(docker version --format '{{.Server.Version}}') answering"
}

compose_v2() { docker compose version --short 2>/dev/null | grep -qE '^v?2\.'; }

# Prints the DOCKER_CONFIG under which `docker compose` is v2 (empty: the default one is).
ensure_compose() {
  if compose_v2; then
    echo "DOCKER_CONFIG=${DOCKER_CONFIG:-}"
    return 0
  fi
  bash "$ROOT/scripts/trixie/root.sh" ensure
  mkdir -p "$PLUGIN_CONFIG/cli-plugins"
  ln -sfn "$ROOT/.tools/trixie/root/usr/libexec/docker/cli-plugins/docker-compose" \
    "$PLUGIN_CONFIG/cli-plugins/docker-compose"
  DOCKER_CONFIG="$PLUGIN_CONFIG" compose_v2 || die "Compose v2 not usable from $PLUGIN_CONFIG/cli-plugins"
  log "compose $(DOCKER_CONFIG="$PLUGIN_CONFIG" docker compose version --short) (Debian 13 package, CLI plugin)"
  echo "DOCKER_CONFIG=$PLUGIN_CONFIG"
}

stop_engine() {
  local pid
  pid=$(cat "$DOCKER_STATE/dockerd.pid" 2>/dev/null) || { log "dockerd not started here"; return 0; }
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  fi
  rm -f "$DOCKER_STATE/dockerd.pid"
}

case ${1:-} in
  up)
    start_engine
    ensure_compose
    ;;
  down) stop_engine ;;
  *) die "usage: $0 up|down" ;;
esac
