import type { Builder, Dataquery } from "@grafana/grafana-foundation-sdk/cog";
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
} from "@grafana/grafana-foundation-sdk/common";
import type { DataTransformerConfig } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeSeriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import { DATASOURCES, type StoreDatasource } from "./datasources.ts";
import { RedisQueryBuilder } from "./redis-query.ts";

/** One PromQL series of a panel: the expression and its legend template. */
export interface PromSeries {
  expr: string;
  legend: string;
}

interface PanelText {
  title: string;
  /** What the panel answers; shown in the panel's info tooltip and in docs/observability.md. */
  description: string;
  /** Grid columns out of 24. */
  span: number;
}

const refIdOf = (index: number): string => String.fromCharCode(65 + index);

/** A time series panel over Prometheus; every series gets refId A, B, C... in order. */
export function promTimeSeries(text: PanelText & { unit: string; series: PromSeries[] }): TimeSeriesPanel {
  const panel = new TimeSeriesPanel()
    .title(text.title)
    .description(text.description)
    .span(text.span)
    .height(8)
    .datasource(DATASOURCES.prometheus)
    .unit(text.unit)
    .min(0)
    .fillOpacity(10)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(["lastNotNull", "max"]),
    );
  text.series.forEach((series, index) => {
    panel.withTarget(
      new DataqueryBuilder()
        .datasource(DATASOURCES.prometheus)
        .refId(refIdOf(index))
        .expr(series.expr)
        .legendFormat(series.legend)
        .range(),
    );
  });
  return panel;
}

/** HGETALL returns string values in two columns, Field and Value: name them and sort numerically. */
const hashAsTable = (fieldTitle: string, valueTitle: string): DataTransformerConfig[] => [
  {
    id: "convertFieldType",
    options: { conversions: [{ targetField: "Value", destinationType: "number" }], fields: {} },
  },
  { id: "organize", options: { renameByName: { Field: fieldTitle, Value: valueTitle } } },
  { id: "sortBy", options: { sort: [{ field: valueTitle, desc: true }] } },
];

/** A table of one hash of a store, e.g. country_counts (the original's "messages per country"). */
export function storeHashTable(
  text: PanelText & { datasource: StoreDatasource; key: string; fieldTitle: string; valueTitle: string },
): TablePanel {
  return new TablePanel()
    .title(text.title)
    .description(text.description)
    .span(text.span)
    .height(8)
    .datasource(text.datasource)
    .withTarget(asTarget(RedisQueryBuilder.command(text.datasource, "hgetall", text.key)))
    .transformations(hashAsTable(text.fieldTitle, text.valueTitle));
}

/** A single number read with GET from a store, e.g. total_messages (the original's total gauge). */
export function storeCounterStat(text: PanelText & { datasource: StoreDatasource; key: string }): StatPanel {
  return new StatPanel()
    .title(text.title)
    .description(text.description)
    .span(text.span)
    .height(8)
    .datasource(text.datasource)
    .withTarget(asTarget(RedisQueryBuilder.command(text.datasource, "get", text.key)))
    .unit("short")
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false));
}

/** The newest envelopes kept in recent_messages (JSON strings), split into columns. */
export function storeRecentMessagesTable(
  text: PanelText & { datasource: StoreDatasource; key: string; count: number },
): TablePanel {
  return new TablePanel()
    .title(text.title)
    .description(text.description)
    .span(text.span)
    .height(10)
    .datasource(text.datasource)
    .withTarget(asTarget(RedisQueryBuilder.cli(text.datasource, `LRANGE ${text.key} 0 ${text.count - 1}`)))
    .transformations([
      { id: "extractFields", options: { source: "Value", format: "json", replace: true, keepTime: false } },
      {
        id: "organize",
        options: {
          excludeByName: { schemaVersion: true },
          indexByName: { acceptedAt: 0, country: 1, weather: 2, description: 3, id: 4 },
        },
      },
    ]);
}

function asTarget(query: RedisQueryBuilder): Builder<Dataquery> {
  return query.refId("A");
}
