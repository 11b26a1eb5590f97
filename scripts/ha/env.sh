# shellcheck shell=bash
# What the API and consumers connect to under TOPOLOGY=ha, sourced by scripts/dev.sh after
# scripts/lib/env.sh: the lists of the three nodes of each broker (RABBITMQ_HA_URL,
# KAFKA_HA_BROKERS) become RABBITMQ_URL and KAFKA_BROKERS, and the queue and topic they declare
# get three replicas (quorum queue members; replication factor 3, min.insync.replicas 2).
case ${TOPOLOGY:-single} in
  single) ;;
  ha)
    export RABBITMQ_URL="$RABBITMQ_HA_URL" KAFKA_BROKERS="$KAFKA_HA_BROKERS"
    export KAFKA_REPLICATION_FACTOR="$KAFKA_HA_REPLICATION_FACTOR"
    export RABBITMQ_QUORUM_GROUP_SIZE="$RABBITMQ_HA_QUORUM_GROUP_SIZE"
    ;;
  *)
    printf 'error: TOPOLOGY must be single or ha (got %s)\n' "$TOPOLOGY" >&2
    exit 2
    ;;
esac
