#!/usr/bin/env bash
# A Debian 13 "trixie" root file system under .tools/trixie/, holding the native servers at the
# versions the images use (RabbitMQ 4.0 on Erlang 27, Valkey 8.1, Redis 8.0, Prometheus 2.53) and
# Compose v2, without touching the host's Debian 12 packages (its libc, libstdc++, OpenSSL stay).
#
#   scripts/trixie/root.sh ensure           create or update the root (idempotent, content-keyed)
#   scripts/trixie/root.sh run CMD [ARG...] run CMD inside the root, sharing the host's network
#   scripts/trixie/root.sh versions         the Debian versions of the server packages
#   scripts/trixie/root.sh base-tar         path of a tar of the minimal base (for `docker import`)
#   scripts/trixie/root.sh base-key         the hash of the base's recipe (names the imported image)
#
# `run` execs: unshare (a private mount namespace) -> chroot -> env -> CMD, all in one process, so
# the caller's pid is the server's pid (kill -9 of it kills the server) and the mounts it makes
# (/proc, /dev, /sys, the project folder at its own path) vanish with the last process inside.
set -euo pipefail

LOG_PREFIX=trixie
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
TRIXIE_DIR=${TRIXIE_DIR:-$ROOT/.tools/trixie}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What the native stack runs from this root. Changing the list rebuilds the root.
PACKAGES=(rabbitmq-server valkey-server redis-server prometheus docker-compose)
SERVER_PACKAGES=(rabbitmq-server erlang-base valkey-server redis-server prometheus docker-compose)


# The inputs each layer is built from: a changed input rebuilds that layer.
base_key() { printf 'minbase trixie %s\n' "$MIRROR" | sha256sum | cut -c1-16; }
root_key() { { base_key; printf '%s\n' "${PACKAGES[@]}" "$SECURITY_MIRROR"; } | sha256sum | cut -c1-16; }

stamp_matches() { [[ -f "$1/.weather-tweets-key" && "$(<"$1/.weather-tweets-key")" == "$2" ]]; }

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  log "apt-get install debootstrap (host, Debian 12)"
  apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
    debootstrap >/dev/null
}

# The minimal trixie system: the native root starts from it, and `docker import` turns it into the
# base of the local stand-in images.
ensure_base() {
  local key dir="$TRIXIE_DIR/base"
  key=$(base_key)
  stamp_matches "$dir" "$key" && [[ -f "$TRIXIE_DIR/base.tar" ]] && return 0
  ensure_debootstrap
  log "debootstrap --variant=minbase trixie into $dir (log: $TRIXIE_DIR/debootstrap.log)"
  rm -rf "$dir.new" "$dir"
  debootstrap --variant=minbase trixie "$dir.new" "$MIRROR" >"$TRIXIE_DIR/debootstrap.log" 2>&1 ||
    { tail -n 20 "$TRIXIE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
  # Updates and security fixes of trixie, as any trixie machine has them.
  cat >"$dir.new/etc/apt/sources.list" <<EOF
deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb $SECURITY_MIRROR trixie-security main
EOF
  rm -rf "$dir.new/var/cache/apt/archives/"*.deb
  echo "$key" >"$dir.new/.weather-tweets-key"
  tar -C "$dir.new" --numeric-owner --exclude=./.weather-tweets-key -cf "$TRIXIE_DIR/base.tar.new" .
  mv "$TRIXIE_DIR/base.tar.new" "$TRIXIE_DIR/base.tar"
  mv "$dir.new" "$dir"
}

# Runs a command inside a root with /proc, /dev, /sys, the host's resolver and hosts file, and the
# project folder (and the state folder, if elsewhere) mounted at their own paths.
run_in() {
  local root=$1
  shift
  local binds=("$ROOT")
  [[ "$STATE_DIR" == "$ROOT"/* ]] || binds+=("$STATE_DIR")
  mkdir -p "$STATE_DIR"
  exec unshare --mount --propagation private -- /bin/bash -c '
    set -e
    root=$1 count=$2 cwd=$PWD
    shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    for file in /etc/resolv.conf /etc/hosts; do
      [[ -e "$root$file" ]] || : >"$root$file"
      mount --bind "$file" "$root$file"
    done
    while ((count > 0)); do
      mkdir -p "$root$1"
      mount --bind "$1" "$root$1"
      shift
      count=$((count - 1))
    done
    # chroot enters "/": go back to the caller'"'"'s folder (the same path inside), then exec.
    exec chroot "$root" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/sh -c '"'"'cd "$0" 2>/dev/null || cd /; exec "$@"'"'"' "$cwd" "$@"
  ' run-in "$root" "${#binds[@]}" "${binds[@]}" "$@"
}

ensure_root() {
  local key dir="$TRIXIE_DIR/root"
  key=$(root_key)
  stamp_matches "$dir" "$key" && return 0
  ensure_base
  log "building the trixie root in $dir: ${PACKAGES[*]} (log: $TRIXIE_DIR/install.log)"
  rm -rf "$dir.new"
  cp -a "$TRIXIE_DIR/base" "$dir.new"
  rm -f "$dir.new/.weather-tweets-key"
  # Package scripts must not start daemons: the project runs its own instances.
  printf '#!/bin/sh\nexit 101\n' >"$dir.new/usr/sbin/policy-rc.d"
  chmod +x "$dir.new/usr/sbin/policy-rc.d"
  (run_in "$dir.new" /bin/sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends ${PACKAGES[*]} && apt-get clean") >"$TRIXIE_DIR/install.log" 2>&1 ||
    { tail -n 20 "$TRIXIE_DIR/install.log" >&2; die "installing ${PACKAGES[*]} in the trixie root failed"; }
  echo "$key" >"$dir.new/.weather-tweets-key"
  # A server still running from the old root keeps its open files; restart it to use the new one.
  if [[ -d "$dir" ]]; then
    mv "$dir" "$dir.old.$$"
    rm -rf "$dir.old.$$"
  fi
  mv "$dir.new" "$dir"
  log "trixie root ready: $(versions | tr '\n' ' ')"
}

# promtool of the same Prometheus, for `make prometheus-check` and the tests (the Makefile puts
# .tools/bin first on the PATH).
ensure_wrappers() {
  local bin="$ROOT/.tools/bin" wrapper
  wrapper=$(printf '#!/bin/sh\nexec bash "%s" run promtool "$@"\n' "$ROOT/scripts/trixie/root.sh")
  [[ -x "$bin/promtool" && "$(<"$bin/promtool")" == "$wrapper" ]] && return 0
  mkdir -p "$bin"
  printf '%s\n' "$wrapper" >"$bin/promtool"
  chmod +x "$bin/promtool"
}

versions() {
  chroot "$TRIXIE_DIR/root" dpkg-query -W -f '${Package} ${Version}\n' "${SERVER_PACKAGES[@]}"
}

main() {
  local command=${1:-}
  [[ $# -gt 0 ]] && shift
  mkdir -p "$TRIXIE_DIR"
  case $command in
    ensure)
      # One builder at a time: services.sh and the compose test may both ask for the root.
      exec 9>"$TRIXIE_DIR/.lock"
      flock 9
      ensure_root
      ensure_wrappers
      ;;
    run)
      [[ -f "$TRIXIE_DIR/root/.weather-tweets-key" ]] || die "no trixie root yet: run $0 ensure"
      (($# > 0)) || die "usage: $0 run CMD [ARG...]"
      run_in "$TRIXIE_DIR/root" "$@"
      ;;
    versions) versions ;;
    base-key) base_key ;;
    base-tar)
      exec 9>"$TRIXIE_DIR/.lock"
      flock 9
      ensure_base
      echo "$TRIXIE_DIR/base.tar"
      ;;
    *) die "usage: $0 ensure|run CMD...|versions|base-tar|base-key" ;;
  esac
}

main "$@"
