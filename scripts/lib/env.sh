# The native stack's settings: the one loader of .env files in the repository.
# Sourced by every make recipe (the Makefile exports BASH_ENV pointing here) and by the scripts.
# One rule: the environment wins, then .env (optional, git-ignored), then .env.example.
# TypeScript code reads only the environment, with the same defaults in its config schemas.
weather_env_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
load_env_defaults() {
  local file=$1 line name
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*([A-Z0-9_]+)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    [[ -n "${!name+set}" ]] || export "$name=${BASH_REMATCH[2]}"
  done <"$file"
}
load_env_defaults "$weather_env_root/.env"
load_env_defaults "$weather_env_root/.env.example"
unset weather_env_root
