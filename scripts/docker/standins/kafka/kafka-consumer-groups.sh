#!/bin/sh
# The official image's tool of the same name (test/compose reads the consumer group's lag with it).
exec java -Xmx256m -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' \
  org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"
