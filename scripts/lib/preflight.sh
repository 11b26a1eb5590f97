#!/usr/bin/env bash
# Checks what a deployment target needs before it starts, and says in one go everything that is
# missing, with what to do about it (exit 1), rather than failing half-way through.
#
#   scripts/lib/preflight.sh TARGET      TARGET: up | kind-test | gke-build | gke-secrets | gke-tls | gke-deploy
#
# Settings come from the environment (the Makefile exports them): PROJECT, REGION, DOMAIN, and
# KUBE_CONTEXT, the kubectl context of the intended cluster.
set -uo pipefail

problems=()
problem() { problems+=("$*"); }

# tool NAME HINT: NAME must be on PATH.
tool() {
  command -v "$1" >/dev/null 2>&1 || problem "$1 not found on PATH: $2"
}
tools() {
  for name in "$@"; do
    case "$name" in
      docker) tool docker "install Docker Engine (https://docs.docker.com/engine/install/)" ;;
      kubectl) tool kubectl "apt-get install kubectl, or gcloud components install kubectl" ;;
      gcloud) tool gcloud "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) and run gcloud auth login" ;;
      openssl) tool openssl "apt-get install openssl (it generates the passwords)" ;;
      go) tool go "apt-get install golang (kind and cloud-provider-kind are installed with go install)" ;;
      curl) tool curl "apt-get install curl" ;;
      *) tool "$name" "install it" ;;
    esac
  done
}

# The engine answers (not only the CLI is there).
docker_engine() {
  command -v docker >/dev/null 2>&1 || return 0
  local error
  if ! error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)"; then
    problem "the Docker engine is not reachable (docker info: ${error%%$'\n'*}): start it, or check DOCKER_HOST and this user's access to it"
  fi
}

# `docker compose` (v2, the plugin), not the old docker-compose v1.
compose_v2() {
  command -v docker >/dev/null 2>&1 || return 0
  local version
  version="$(docker compose version --short 2>/dev/null)" || version=""
  version="${version#v}"
  if [[ -z "$version" ]]; then
    problem "Docker Compose v2 not found: \`docker compose\` must work (install the docker-compose-plugin package)"
  elif [[ "${version%%.*}" -lt 2 ]]; then
    problem "Docker Compose $version found, v2 or later needed (\`docker compose version\`)"
  fi
}

# variables NAME...: each must be set and not empty.
variables() {
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || problem "$name is not set: pass it to make, e.g. make ${TARGET} $name=..."
  done
}

# kubectl's current context is the intended cluster's (KUBE_CONTEXT).
kube_context() {
  if [[ -z "${KUBE_CONTEXT:-}" ]]; then
    problem "the intended cluster is unknown: pass PROJECT and REGION (and CLUSTER unless it is weather-tweets), or KUBE_CONTEXT"
    return 0
  fi
  command -v kubectl >/dev/null 2>&1 || return 0
  local current
  current="$(kubectl config current-context 2>/dev/null)" || current=""
  if [[ "$current" != "$KUBE_CONTEXT" ]]; then
    problem "kubectl's current context is '${current:-none}', not '$KUBE_CONTEXT': run gcloud container clusters get-credentials <cluster> --location <location> --project <project> (or kubectl config use-context $KUBE_CONTEXT), or set KUBE_CONTEXT to the context to deploy to"
  fi
}

TARGET="${1:-}"
case "$TARGET" in
  up)
    tools docker
    docker_engine
    compose_v2
    ;;
  kind-test)
    tools docker kubectl go curl
    docker_engine
    ;;
  gke-build)
    variables PROJECT REGION
    tools gcloud docker
    docker_engine
    ;;
  gke-secrets)
    tools kubectl openssl
    kube_context
    ;;
  gke-tls)
    variables PROJECT DOMAIN
    tools gcloud
    ;;
  gke-deploy)
    variables PROJECT REGION DOMAIN
    tools gcloud docker kubectl openssl
    docker_engine
    kube_context
    ;;
  *)
    echo "usage: $0 up|kind-test|gke-build|gke-secrets|gke-tls|gke-deploy" >&2
    exit 2
    ;;
esac

if ((${#problems[@]} > 0)); then
  echo "make $TARGET cannot start:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
