#!/usr/bin/env bash
# End-to-end test on a throwaway kind cluster (make kind-test; CI runs it on GitHub's runners):
# create the cluster, build and load the images, apply the kind overlay, wait for the rollout,
# POST one message through the Gateway and see both stores count it, run Locust for 30 s inside
# the cluster, then check that Valkey, Redis and the API agree on the total. Needs Docker,
# kubectl and Go (kind and cloud-provider-kind are installed into .tools/bin when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIND_VERSION=v0.30.0
CLOUD_PROVIDER_KIND_VERSION=v0.7.0
GATEWAY_API_VERSION=v1.3.0
CLUSTER=weather-tweets
NS=weather-tweets
TAG=kind
TOOLS="$ROOT/.tools/bin"
KUSTOMIZE="${KUSTOMIZE:-$TOOLS/kustomize}"
export PATH="$TOOLS:$PATH"
LOG_DIR="$ROOT/.state/kind-test"
mkdir -p "$LOG_DIR" "$TOOLS"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'kind-test FAILED: %s\n' "$*" >&2; exit 1; }

install_go_tool() { # name module version
  if ! command -v "$1" >/dev/null || ! "$1" --version 2>/dev/null | grep -q "${3#v}"; then
    GOBIN="$TOOLS" GOFLAGS=-buildvcs=false go install "$2@$3"
  fi
}
command -v docker >/dev/null || fail "docker is required"
command -v kubectl >/dev/null || fail "kubectl is required"
install_go_tool kind sigs.k8s.io/kind "$KIND_VERSION"
[[ -x "$TOOLS/cloud-provider-kind" ]] || GOBIN="$TOOLS" go install "sigs.k8s.io/cloud-provider-kind@$CLOUD_PROVIDER_KIND_VERSION"

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
kind create cluster --config "$ROOT/kind/cluster.yaml" --wait 180s
kubectl apply --server-side -f \
  "https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml"
kubectl wait --for=condition=Established --timeout=60s crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io
# LoadBalancer addresses and the cloud-provider-kind GatewayClass.
cloud-provider-kind >"$LOG_DIR/cloud-provider-kind.log" 2>&1 &
CPK_PID=$!

log "images"
for image in api rabbitmq-consumer kafka-consumer; do
  docker build --target "$image" --tag "weather-tweets/$image:$TAG" "$ROOT"
  kind load docker-image --name "$CLUSTER" "weather-tweets/$image:$TAG"
done

log "apply"
"$KUSTOMIZE" build --load-restrictor LoadRestrictionsNone "$ROOT/kind" | kubectl apply --server-side -f -
for w in statefulset/rabbitmq statefulset/kafka statefulset/valkey statefulset/redis \
  deployment/api deployment/rabbitmq-consumer deployment/kafka-consumer deployment/prometheus deployment/grafana; do
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
