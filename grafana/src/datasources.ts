import type { DataSourceRef } from "@grafana/grafana-foundation-sdk/common";

/** Plugin id of the Redis data source that reads Valkey and Redis. */
export const REDIS_PLUGIN_ID = "redis-datasource";

/**
 * Data sources the dashboards refer to. The uids are fixed so that dashboard files and
 * grafana/provisioning/datasources/datasources.yml agree without lookups by name.
 */
export const DATASOURCES = {
  prometheus: { type: "prometheus", uid: "prometheus" },
  valkey: { type: REDIS_PLUGIN_ID, uid: "valkey" },
  redis: { type: REDIS_PLUGIN_ID, uid: "redis" },
} as const satisfies Record<string, Required<DataSourceRef>>;

export type StoreDatasource = typeof DATASOURCES.valkey | typeof DATASOURCES.redis;

/** Each pipeline's store, in the order panels show them (RabbitMQ->Valkey first, as the title reads). */
export const STORES: readonly { name: string; pipeline: string; datasource: StoreDatasource }[] = [
  { name: "Valkey", pipeline: "rabbitmq-valkey", datasource: DATASOURCES.valkey },
  { name: "Redis", pipeline: "kafka-redis", datasource: DATASOURCES.redis },
];
