import type { Builder, Dataquery } from "@grafana/grafana-foundation-sdk/cog";
import type { DataSourceRef } from "@grafana/grafana-foundation-sdk/common";

/**
 * A query of the Redis data source plugin (redis-datasource). The SDK ships builders for
 * core data sources only, so this follows the plugin's query model: `type: "command"`
 * runs one of its supported commands on `keyName`; `type: "cli"` runs the raw `query`
 * (used for LRANGE, which the plugin has no command form for).
 */
export interface RedisQuery {
  refId: string;
  datasource: DataSourceRef;
  type: "command" | "cli";
  command?: "get" | "hgetall";
  keyName?: string;
  query?: string;
  _implementsDataqueryVariant(): void;
}

export class RedisQueryBuilder implements Builder<Dataquery> {
  private readonly internal: RedisQuery;

  private constructor(
    datasource: DataSourceRef,
    fields: Omit<RedisQuery, "refId" | "datasource" | "_implementsDataqueryVariant">,
  ) {
    // refId is filled in by panel() in the order targets are added.
    this.internal = { refId: "", datasource, ...fields, _implementsDataqueryVariant() {} };
  }

  /** `command key`, e.g. HGETALL country_counts. */
  static command(datasource: DataSourceRef, command: "get" | "hgetall", keyName: string): RedisQueryBuilder {
    return new RedisQueryBuilder(datasource, { type: "command", command, keyName });
  }

  /** A raw command line, e.g. `LRANGE recent_messages 0 19`. */
  static cli(datasource: DataSourceRef, query: string): RedisQueryBuilder {
    return new RedisQueryBuilder(datasource, { type: "cli", query });
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  build(): RedisQuery {
    return this.internal;
  }
}
