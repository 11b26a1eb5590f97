#!/bin/sh
# The official images are built with protected mode off (clients connect from other containers
# without a password); Debian's server keeps it on, so it is turned off on the command line,
# before the arguments of compose.yaml (which win). Runs as the package's user.
set -eu
user=$(readlink /etc/standin-user)
case "${1:-}" in
  valkey-server | redis-server)
    server=$1
    shift
    set -- "$server" --protected-mode no "$@"
    ;;
esac
if [ "$(id -u)" = 0 ]; then exec setpriv --reuid="$user" --regid="$user" --init-groups "$@"; fi
exec "$@"
