#!/usr/bin/env bash
# The images compose.yaml and the Dockerfile name but do not build: the official one wherever it is
# present or can be pulled, else a clearly labelled local stand-in (scripts/docker/standins/).
#
#   scripts/docker/images.sh resolve   prints COMPOSE_TEST_<SERVICE>_IMAGE=<image> lines and makes
#                                      sure the Dockerfile's oven/bun:<version>-slim exists
#
# Stand-ins are tagged weather-tweets-standin/<name>:<key>, the key hashing their build inputs,
# so an image built once is reused by every later run (from any clone) until an input changes.
set -euo pipefail

LOG_PREFIX=images
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
STANDINS="$ROOT/scripts/docker/standins"
CONTEXTS="$STATE_DIR/docker/context"
PULL_TIMEOUT_S=${PULL_TIMEOUT_S:-180}
STANDIN_REPO=weather-tweets-standin
STANDIN_LABEL=io.weather-tweets.standin
KEY_LABEL=io.weather-tweets.standin.key


# The image compose.yaml gives a service (services are indented two spaces, keys four).
compose_image() {
  awk -v service="  $1:" '
    $0 == service { inside = 1; next }
    inside && /^  [^ ]/ { exit }
    inside && $1 == "image:" { print $2; exit }
  ' "$ROOT/compose.yaml"
}
bun_image() {
  local version
  version=$(sed -n 's/^ARG BUN_VERSION=//p' "$ROOT/Dockerfile")
  [[ -n "$version" ]] || die "no ARG BUN_VERSION in the Dockerfile"
  echo "oven/bun:$version-slim"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }
is_standin() { [[ -n "$(image_label "$1" "$STANDIN_LABEL")" ]]; }

# The official image, if present (and not a stand-in of ours) or pullable.
official_available() {
  local image=$1
  if image_exists "$image" && ! is_standin "$image"; then return 0; fi
  log "pulling $image"
  if timeout "$PULL_TIMEOUT_S" docker pull -q "$image" >/dev/null 2>"$STATE_DIR/docker/pull.err"; then return 0; fi
  log "cannot pull $image: $(head -c 300 "$STATE_DIR/docker/pull.err")"
  return 1
}

# Hash of a stand-in's files plus extra input descriptions.
inputs_key() {
  local dir=$1
  shift
  {
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-16
}

BASE_IMAGE=
ensure_base() {
  [[ -n "$BASE_IMAGE" ]] && return 0
  BASE_IMAGE="$STANDIN_REPO/debian:trixie-$(bash "$ROOT/scripts/trixie/root.sh" base-key)"
  image_exists "$BASE_IMAGE" && return 0
  local tar
  tar=$(bash "$ROOT/scripts/trixie/root.sh" base-tar)
  log "docker import $tar as $BASE_IMAGE"
  docker import \
    --change "LABEL $STANDIN_LABEL=debian:trixie io.weather-tweets.project=weather-tweets" \
    --change 'LABEL org.opencontainers.image.description="Debian 13 minbase made by debootstrap, base of the local stand-ins"' \
    --change 'CMD ["/bin/bash"]' "$tar" "$BASE_IMAGE" >/dev/null
}

# Builds STANDIN (a folder of standins/) as weather-tweets-standin/NAME:<key> unless present.
# Extra build inputs: EXTRA_FILES (paths copied into the context) and EXTRA_KEYS (descriptions).
build_standin() {
  local name=$1 folder=$2 official=$3
  shift 3
  local build_args=("$@")
  ensure_base
  local key tag
  key=$(inputs_key "$STANDINS/$folder" "$BASE_IMAGE" "$official" "${build_args[@]}" "${EXTRA_KEYS[@]}" \
    "$(sha256sum "$STANDINS/install-packages.sh")")
  tag="$STANDIN_REPO/$name:$key"
  if image_exists "$tag"; then
    log "$official: reusing stand-in $tag"
    echo "$tag"
    return 0
  fi
  local context="$CONTEXTS/$name"
  rm -rf "$context"
  mkdir -p "$context"
  cp -a "$STANDINS/$folder/." "$STANDINS/install-packages.sh" "$context/"
  local extra
  for extra in "${EXTRA_FILES[@]}"; do cp -a "$extra" "$context/"; done
  # Labelled here, the same way for every stand-in: what it stands in for, and that it is not the official image.
  local args=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$STANDIN_LABEL=$official"
    --label "org.opencontainers.image.description=Local stand-in for $official (scripts/docker/standins/$folder, Debian 13), not the official image")
  for extra in "${build_args[@]}"; do args+=(--build-arg "$extra"); done
  log "$official: building stand-in $tag (log: $STATE_DIR/docker/build-$name.log)"
  local started=$SECONDS
  # The classic builder: it needs no buildx plugin and uses the local base image as it is.
  DOCKER_BUILDKIT=0 docker build "${args[@]}" --label "$KEY_LABEL=$key" \
    --label io.weather-tweets.project=weather-tweets --tag "$tag" "$context" \
    >"$STATE_DIR/docker/build-$name.log" 2>&1 ||
    { tail -n 30 "$STATE_DIR/docker/build-$name.log" >&2; die "building the $name stand-in failed"; }
  log "$official: stand-in built in $((SECONDS - started))s"
  echo "$tag"
}

kafka_libs() {
  local libs="$STATE_DIR/docker/kafka-standin/libs" pom="$STANDINS/kafka/pom.xml"
  local stamp="$libs/.pom.sha256" want
  want=$(cat "$pom" "$ROOT/scripts/kafka/pom.xml" | sha256sum | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(<"$stamp")" != "$want" ]]; then
    log "fetching the Kafka stand-in's jars from Maven Central ($pom)"
    rm -rf "$libs"
    mkdir -p "$libs"
    mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$libs" >"$STATE_DIR/docker/maven.log" 2>&1 ||
      { tail -n 30 "$STATE_DIR/docker/maven.log" >&2; die "could not fetch the Kafka jars"; }
    echo "$want" >"$stamp"
  fi
  echo "$libs"
}

bun_binary() {
  local version=$1 dir="$STATE_DIR/docker/bun-npm"
  if [[ ! -x "$dir/$version/package/bin/bun" ]]; then
    log "fetching @oven/bun-linux-x64@$version from npm"
    rm -rf "${dir:?}/$version"
    mkdir -p "$dir/$version"
    (cd "$dir/$version" && npm pack --silent "@oven/bun-linux-x64@$version" >/dev/null && tar -xzf ./*.tgz)
  fi
  echo "$dir/$version/package/bin/bun"
}

resolve_bun() {
  local official version
  official=$(bun_image)
  version=${official#oven/bun:}
  version=${version%-slim}
  # The official image when present or pullable (a pull replaces an earlier stand-in's tag).
  if official_available "$official"; then return 0; fi
  local binary
  binary=$(bun_binary "$version")
  local tmp
  tmp=$(mktemp -d)
  cp "$binary" "$tmp/bun"
  cp /etc/ssl/certs/ca-certificates.crt "$tmp/ca-certificates.crt"
  local tag
  EXTRA_FILES=("$tmp/bun" "$tmp/ca-certificates.crt")
  EXTRA_KEYS=("bun $version" "ca $(sha256sum </etc/ssl/certs/ca-certificates.crt | cut -c1-64)")
  tag=$(build_standin bun bun "$official" "BUN_VERSION=$version")
  rm -rf "$tmp"
  # The Dockerfile names the official tag: point it at the stand-in (labelled as such).
  docker tag "$tag" "$official"
  log "$official -> $tag"
}

resolve() {
  mkdir -p "$STATE_DIR/docker" "$CONTEXTS"
  resolve_bun
  local service official image
  for service in rabbitmq kafka valkey redis prometheus; do
    official=$(compose_image "$service")
    [[ -n "$official" ]] || die "no image for $service in compose.yaml"
    EXTRA_FILES=()
    EXTRA_KEYS=()
    if official_available "$official"; then
      image=$official
    else
      case $service in
        rabbitmq) image=$(build_standin rabbitmq rabbitmq "$official") ;;
        kafka)
          EXTRA_FILES=("$(kafka_libs)")
          EXTRA_KEYS=("$(sha256sum <"$ROOT/scripts/kafka/pom.xml")")
          image=$(build_standin kafka kafka "$official")
          ;;
        valkey) image=$(build_standin valkey kv "$official" SERVER=valkey-server) ;;
        redis) image=$(build_standin redis kv "$official" SERVER=redis-server) ;;
        prometheus) image=$(build_standin prometheus prometheus "$official") ;;
      esac
    fi
    echo "COMPOSE_TEST_${service^^}_IMAGE=$image"
  done
}

case ${1:-} in
  resolve) resolve ;;
  *) die "usage: $0 resolve" ;;
esac
