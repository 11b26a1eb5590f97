# shellcheck shell=bash
# A network cut of one HA node, on loopback, with iptables (sourced by scripts/services.sh):
#
#   services.sh cut NODE      every packet the node sends is dropped, and every packet sent to it
#   services.sh heal [NODE]   the cut removed (all cuts when no node is named); `down` heals too
#
# The node's process keeps running: only its traffic stops, in both directions, as when a machine
# drops off the network. Three kinds of rules, in a chain of this checkout's own jumped to first
# from OUTPUT (loopback traffic crosses OUTPUT once, from the sender's socket):
#  1. from the node: `-m cgroup --path` its cgroup (scripts/ha/services.sh starts each node in one),
#     which matches every socket the node has or will open, whatever its port;
#  2. to the node's listening ports, from anyone;
#  3. to the node's end of each connection it had opened itself (to a peer's distribution port,
#     epmd, a controller), by exact address and port pair, taken from `ss` at the cut.
# New connections the node opens during the cut never get past their first packet (rule 1), so
# nothing reaches it on them. UDP is not used by either broker.

HA_CUT_CHAIN="WEATHER-CUT-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"

ha_iptables() {
  command -v iptables >/dev/null || apt_install iptables
  iptables -w 10 "$@"
}

ha_cut() {
  local name=$1 pid
  ha_node "$name" || die "cut: name an HA node (${HA_RABBITMQ[*]} ${HA_KAFKA[*]})"
  pid=$(running_pid "$name") || die "cut: $name is not running"
  local root
  root=$(ha_cgroup_root)
  grep -qx "$pid" "$root$(ha_cgroup_path "$name")/cgroup.procs" 2>/dev/null ||
    die "cut: $name (pid $pid) is not in its cgroup $(ha_cgroup_path "$name"): start it again with this script"
  # A rule that cannot be added leaves no half cut behind.
  ha_cut_rules "$name" "$pid" || { ha_heal "$name"; die "cut: could not cut $name off (rules removed)"; }
  log "cut $name off the network (pid $pid keeps running; \`heal $name\` restores it)"
}

ha_cut_rules() {
  local name=$1 pid=$2 port local_addr peer_addr
  if ! ha_iptables -nL "$HA_CUT_CHAIN" >/dev/null 2>&1; then
    ha_iptables -N "$HA_CUT_CHAIN" || return 1
    ha_iptables -I OUTPUT 1 -j "$HA_CUT_CHAIN" || return 1
  fi
  local tag=(-m comment --comment "weather-cut $name")
  ha_iptables -A "$HA_CUT_CHAIN" -m cgroup --path "$(ha_cgroup_path "$name")" "${tag[@]}" -j DROP || return 1
  for port in $(ha_node_ports "$name"); do
    ha_iptables -A "$HA_CUT_CHAIN" -p tcp -d "$BIND_HOST" --dport "$port" "${tag[@]}" -j DROP || return 1
  done
  # Connections the node opened: packets coming back to its ephemeral port. A JVM's IPv4 sockets
  # show as IPv4-mapped IPv6 ([::ffff:127.0.0.1]:port); on the wire they are IPv4.
  while read -r local_addr peer_addr; do
    ha_iptables -A "$HA_CUT_CHAIN" -p tcp -s "${peer_addr%:*}" --sport "${peer_addr##*:}" \
      -d "${local_addr%:*}" --dport "${local_addr##*:}" "${tag[@]}" -j DROP || return 1
  done < <(ss -Htnp state established 2>/dev/null | awk -v pid="pid=$pid," 'index($0, pid) { print $3, $4 }' |
    sed -E 's/\[::ffff:([0-9.]+)\]/\1/g')
}

ha_heal() {
  local name=${1:-} rule
  command -v iptables >/dev/null || return 0
  ha_iptables -nL "$HA_CUT_CHAIN" >/dev/null 2>&1 || return 0
  if [[ -z "$name" ]]; then
    ha_iptables -D OUTPUT -j "$HA_CUT_CHAIN" 2>/dev/null || true
    ha_iptables -F "$HA_CUT_CHAIN"
    ha_iptables -X "$HA_CUT_CHAIN"
    log "healed every cut (chain $HA_CUT_CHAIN removed)"
    return 0
  fi
  # Delete this node's rules (by their comment), from the last to the first.
  while rule=$(ha_iptables -S "$HA_CUT_CHAIN" | grep -F -- "\"weather-cut $name\"" | tail -n 1) && [[ -n "$rule" ]]; do
    eval "ha_iptables ${rule/-A/-D}"
  done
  log "healed $name"
  # The chain goes once the last cut is healed.
  if [[ $(ha_iptables -S "$HA_CUT_CHAIN" | wc -l) -le 1 ]]; then ha_heal; fi
}

# The nodes cut off now (none when the chain does not exist).
ha_cuts() {
  command -v iptables >/dev/null || return 0
  ha_iptables -nL "$HA_CUT_CHAIN" >/dev/null 2>&1 || return 0
  ha_iptables -S "$HA_CUT_CHAIN" | sed -n 's/.*"weather-cut \([^"]*\)".*/\1/p' | sort -u
}
