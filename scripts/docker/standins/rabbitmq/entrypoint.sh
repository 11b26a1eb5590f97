#!/bin/sh
# What the official image's entrypoint does with the settings compose.yaml uses: the default user
# from RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS, listeners on every interface.
set -eu
{
  echo "listeners.tcp.default = 5672"
  echo "management.tcp.port = 15672"
  echo "loopback_users.guest = false"
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
  if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
} >/etc/rabbitmq/conf.d/10-standin.conf
exec "$@"
