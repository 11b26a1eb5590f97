# Sourced first by the project's scripts: the repository root, the stack's settings (env.sh: the
# environment, then .env, then .env.example), the state directory, and log/die messages prefixed
# with LOG_PREFIX (which the script sets before sourcing this file).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=env.sh
source "$ROOT/scripts/lib/env.sh"
STATE_DIR=${STATE_DIR:-$ROOT/.state}
log() { printf '[%s] %s\n' "${LOG_PREFIX:-script}" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "${LOG_PREFIX:-script}" "$*" >&2
  exit 1
}
