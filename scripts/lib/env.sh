# Sourced by the scripts under scripts/: loads the native stack's settings.
# The environment wins, then .env (optional, git-ignored), then .env.example's defaults.
load_env_defaults() {
  local file=$1 line name
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*([A-Z0-9_]+)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    [[ -n "${!name+set}" ]] || export "$name=${BASH_REMATCH[2]}"
  done <"$file"
}
load_env_defaults "$ROOT/.env"
load_env_defaults "$ROOT/.env.example"
