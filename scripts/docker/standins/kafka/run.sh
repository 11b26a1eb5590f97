#!/bin/sh
# What the official image's start script does with the settings compose.yaml uses: every KAFKA_*
# variable becomes a server property (KAFKA_LOG_DIRS -> log.dirs; "__" -> "_", "___" -> "-"),
# storage is formatted once with CLUSTER_ID (the official image's default when unset), then the
# broker runs in the foreground.
set -eu
config=/opt/kafka/config/server.properties
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
  case $name in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JMX_OPTS | KAFKA_GC_LOG_OPTS | KAFKA_VERSION) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value"
done >"$config"
java_cmd() {
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
  exec java ${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$@"
}
(java_cmd kafka.tools.StorageTool format --ignore-formatted -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config")
java_cmd kafka.Kafka "$config"
