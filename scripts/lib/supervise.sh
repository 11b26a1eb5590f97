#!/usr/bin/env bash
# Keeps one process running, as compose's restart policy (unless-stopped) and Kubernetes
# (restartPolicy: Always) do: whenever it exits, whatever the code, it is started again after a
# capped, jittered backoff (the formula of packages/async's Backoff: half the exponential step
# plus a random part of the other half; the step goes back to the first one after 30 s of uptime).
#
#   supervise.sh NAME DIR -- COMMAND...
#
# DIR/NAME.pid holds the current process's pid (what a fault test kills), DIR/NAME.supervisor.pid
# this supervisor's, DIR/NAME.restarts the restart count; output goes to DIR/NAME.log.
# SIGTERM/SIGINT: forwarded to the process; the supervisor exits once it has, without a restart.
set -uo pipefail
name=$1 dir=$2
shift 2
[[ ${1:-} == -- ]] && shift

INITIAL_MS=${SUPERVISE_INITIAL_MS:-500}
MAX_MS=${SUPERVISE_MAX_MS:-30000}
HEALTHY_AFTER_S=${SUPERVISE_HEALTHY_AFTER_S:-30}

child=""
stopping=0
on_stop() {
  stopping=1
  [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null
}
trap on_stop TERM INT

note() {
  printf '{"time":"%s","level":"%s","msg":"%s","service":"%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$2" "$name" "${3:-}" >>"$dir/$name.log"
}

echo $$ >"$dir/$name.supervisor.pid"
step=$INITIAL_MS
restarts=0
echo 0 >"$dir/$name.restarts"
while ((stopping == 0)); do
  started=$SECONDS
  "$@" >>"$dir/$name.log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$dir/$name.pid"
  # `wait` returns early when a trapped signal arrives: wait again until the process has exited.
  while :; do
    wait "$child"
    code=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=""
  ((stopping)) && break
  ((SECONDS - started >= HEALTHY_AFTER_S)) && step=$INITIAL_MS
  delay=$((step / 2 + RANDOM % (step / 2 + 1)))
  restarts=$((restarts + 1))
  echo "$restarts" >"$dir/$name.restarts"
  note warn "supervisor: process exited; restarting" ",\"code\":$code,\"restartInMs\":$delay,\"restarts\":$restarts"
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))" &
  wait $! # interruptible by SIGTERM
  step=$((step * 2 > MAX_MS ? MAX_MS : step * 2))
done
rm -f "$dir/$name.pid" "$dir/$name.supervisor.pid"
