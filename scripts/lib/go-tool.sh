#!/usr/bin/env bash
# Installs a Go command at an exact version into a bin directory, unless the binary already there was
# built from that package at that version. The version is read from the binary itself
# (`go version -m`), so the check works for tools without a --version flag (cloud-provider-kind).
#
#   scripts/lib/go-tool.sh BIN_DIR NAME PACKAGE@VERSION
#   e.g. scripts/lib/go-tool.sh .tools/bin kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0
set -euo pipefail

if (($# != 3)) || [[ "$3" != *@* ]]; then
  echo "usage: $0 BIN_DIR NAME PACKAGE@VERSION" >&2
  exit 2
fi
bin_dir=$1 name=$2 package=${3%@*} version=${3##*@}
binary="$bin_dir/$name"

# "package@version" of a Go binary, or nothing when it is missing or not a Go binary.
built_from() {
  go version -m "$1" 2>/dev/null | awk '$1 == "path" { path = $2 } $1 == "mod" { mod = $3 } END { if (path) print path "@" mod }'
}

if ! command -v go >/dev/null; then
  echo "go-tool: Go is needed to install $name $version (apt-get install golang, or https://go.dev/doc/install)" >&2
  exit 1
fi
current="$(built_from "$binary" || true)"
if [[ "$current" == "$package@$version" ]]; then
  echo "$name $version present" >&2
  exit 0
fi
echo "installing $name $version (go install $package@$version)${current:+, replacing $current}" >&2
mkdir -p "$bin_dir"
GOBIN="$(cd "$bin_dir" && pwd)" GOFLAGS=-buildvcs=false go install "$package@$version"
current="$(built_from "$binary" || true)"
if [[ "$current" != "$package@$version" ]]; then
  echo "go-tool: $binary is ${current:-not a Go binary} after installing $package@$version" >&2
  exit 1
fi
