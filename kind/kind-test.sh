#!/usr/bin/env bash
# End-to-end test on a throwaway kind cluster (make kind-test; CI runs it on GitHub's runners):
# create the cluster, build and load the images, apply the kind overlay, wait for the rollout,
# POST one message through the Gateway and see both stores count it, run Locust for 30 s inside
# the cluster, then check that Valkey, Redis and the API agree on the total. Needs Docker,
# kubectl and Go (kind and cloud-provider-kind are installed into .tools/bin when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIND_VERSION=v0.30.0
# The first release whose Gateway controller is on by default is v0.9.0 (v0.8.0 had it off; v0.7.0
# none); v0.10.0 also installs the Gateway API CRDs (v1.4.0) itself.
CLOUD_PROVIDER_KIND_VERSION=v0.10.0
CLUSTER=weather-tweets
NS=weather-tweets
TAG=kind
TOOLS="$ROOT/.tools/bin"
KUSTOMIZE="${KUSTOMIZE:-$TOOLS/kustomize}"
# The overlay and cluster to run: kind/ by default; kind-ha/ for the HA topology (make kind-test TOPOLOGY=ha).
KIND_OVERLAY="${KIND_OVERLAY:-kind}"
KIND_CLUSTER_CONFIG="${KIND_CLUSTER_CONFIG:-kind/cluster.yaml}"
export PATH="$TOOLS:$PATH"
LOG_DIR="$ROOT/.state/kind-test"
mkdir -p "$LOG_DIR" "$TOOLS"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'kind-test FAILED: %s\n' "$*" >&2; exit 1; }

# Tools present, Docker engine running (make kind-test runs it too; this covers a direct run).
bash "$ROOT/scripts/lib/preflight.sh" kind-test
# Each is (re)installed unless the binary in .tools/bin was built from exactly this version.
bash "$ROOT/scripts/lib/go-tool.sh" "$TOOLS" kind "sigs.k8s.io/kind@$KIND_VERSION"
bash "$ROOT/scripts/lib/go-tool.sh" "$TOOLS" cloud-provider-kind "sigs.k8s.io/cloud-provider-kind@$CLOUD_PROVIDER_KIND_VERSION"

CPK_PID=""
cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    log "diagnostics (exit $status)"
    kubectl -n "$NS" get pods,svc,gateway,httproute,jobs -o wide || true
    kubectl -n "$NS" get events --sort-by=.lastTimestamp | tail -40 || true
    for w in deploy/api deploy/rabbitmq-consumer deploy/kafka-consumer job/locust; do
      kubectl -n "$NS" logs "$w" --tail=60 --all-containers 2>/dev/null || true
    done
  fi
  [[ -n "$CPK_PID" ]] && kill "$CPK_PID" 2>/dev/null || true
  [[ "${KEEP_CLUSTER:-0}" == 1 ]] || kind delete cluster --name "$CLUSTER" || true
  exit "$status"
}
trap cleanup EXIT

log "cluster"
kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
kind create cluster --config "$ROOT/$KIND_CLUSTER_CONFIG" --wait 180s
# LoadBalancer addresses, and the Gateway controller with its GatewayClass cloud-provider-kind; it
# installs the Gateway API CRDs of its standard channel (named here although it is the default).
cloud-provider-kind --gateway-channel standard >"$LOG_DIR/cloud-provider-kind.log" 2>&1 &
CPK_PID=$!
wait_exists() { # resource: kubectl wait fails at once on an object that does not exist yet
  for _ in $(seq 1 60); do kubectl get "$1" >/dev/null 2>&1 && return 0; sleep 2; done
  fail "$1 was not created (see $LOG_DIR/cloud-provider-kind.log)"
}
wait_exists crd/gateways.gateway.networking.k8s.io
wait_exists crd/httproutes.gateway.networking.k8s.io
kubectl wait --for=condition=Established --timeout=60s crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io
wait_exists gatewayclass/cloud-provider-kind
kubectl wait --for=condition=Accepted --timeout=120s gatewayclass/cloud-provider-kind

log "images"
for image in api rabbitmq-consumer kafka-consumer; do
  docker build --target "$image" --tag "weather-tweets/$image:$TAG" "$ROOT"
  kind load docker-image --name "$CLUSTER" "weather-tweets/$image:$TAG"
done

log "apply"
"$KUSTOMIZE" build --load-restrictor LoadRestrictionsNone "$ROOT/$KIND_OVERLAY" >"$LOG_DIR/manifests.yaml"
kubectl apply --server-side -f "$LOG_DIR/manifests.yaml"
for w in $(kubectl get -f "$LOG_DIR/manifests.yaml" -o name | grep -E '^(deployment|statefulset)\.apps/'); do
  kubectl -n "$NS" rollout status "$w" --timeout=420s
done

store_get() { # valkey|redis key -> value (0 when unset)
  local cli=redis-cli value
  [[ "$1" == valkey ]] && cli=valkey-cli
  value="$(kubectl -n "$NS" exec "$1-0" -- "$cli" GET "$2" | tr -d '\r')"
  echo "${value:-0}"
}
accepted_by_api() { # api_messages_accepted_total, summed over API pods
  local total=0 pod count
  for pod in $(kubectl -n "$NS" get pods -l app.kubernetes.io/name=api -o name); do
    count="$(kubectl -n "$NS" exec "$pod" -- bun -e \
      'const t = await (await fetch(`http://127.0.0.1:${process.env.API_PORT}/metrics`)).text();
       const m = t.match(/^api_messages_accepted_total(?:\{[^}]*\})? (\d+)/m); console.log(m ? m[1] : 0)')"
    total=$((total + count))
  done
  echo "$total"
}
wait_for_totals() { # expected-or-"api" timeout-seconds
  local deadline=$((SECONDS + $2)) expected valkey redis
  while true; do
    expected="$1"; [[ "$expected" == api ]] && expected="$(accepted_by_api)"
    valkey="$(store_get valkey total_messages)"; redis="$(store_get redis total_messages)"
    echo "accepted=$expected valkey=$valkey redis=$redis"
    [[ "$valkey" == "$expected" && "$redis" == "$expected" && "$expected" -gt 0 ]] && return 0
    ((SECONDS < deadline)) || fail "stores did not reach $expected (valkey=$valkey redis=$redis)"
    sleep 3
  done
}

log "smoke test through the Gateway"
kubectl -n "$NS" wait --for=condition=Programmed --timeout=180s gateway/weather-tweets
ADDRESS="$(kubectl -n "$NS" get gateway weather-tweets -o jsonpath='{.status.addresses[0].value}')"
[[ -n "$ADDRESS" ]] || fail "the Gateway has no address"
for attempt in $(seq 1 30); do
  code="$(curl -s -o "$LOG_DIR/smoke.json" -w '%{http_code}' -X POST "http://$ADDRESS/process" \
    -H 'content-type: application/json' \
    -d '{"description":"Está lloviendo","country":"GT","weather":"Lluvioso"}' || true)"
  [[ "$code" == 2* ]] && break
  ((attempt < 30)) || fail "POST /process through the Gateway answered $code"
  sleep 2
done
cat "$LOG_DIR/smoke.json"; echo
wait_for_totals 1 60
curl -sf "http://$ADDRESS/swagger" >/dev/null || fail "Swagger UI not served through the Gateway"
curl -sf "http://$ADDRESS/grafana/api/health" >/dev/null || fail "Grafana not reachable at /grafana"

log "load: Locust inside the cluster"
"$KUSTOMIZE" build --load-restrictor LoadRestrictionsNone "$ROOT/kind/load" | kubectl apply --server-side -f -
if ! kubectl -n "$NS" wait --for=condition=Complete --timeout=240s job/locust; then
  kubectl -n "$NS" logs job/locust --tail=80 || true
  fail "the Locust run failed (a request failed, or it did not finish)"
fi
kubectl -n "$NS" logs job/locust --tail=30
wait_for_totals api 120
log "kind-test passed"
