import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  RowBuilder,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { STORES } from "./datasources.ts";
import {
  type PromSeries,
  promTimeSeries,
  storeCounterStat,
  storeHashTable,
  storeRecentMessagesTable,
} from "./panels.ts";

export const PIPELINES_DASHBOARD_UID = "weather-pipelines";
export const PIPELINES_DASHBOARD_TITLE = "RabbitMQ->Valkey vs Kafka->Redis";

/** Store keys the panels read (layout shared by Valkey and Redis). */
export const STORE_KEYS = {
  countryCounts: "country_counts",
  totalMessages: "total_messages",
  recentMessages: "recent_messages",
} as const;

const RECENT_MESSAGES_SHOWN = 20;

/** p50/p95/p99 of a histogram, one series per value of `by`. */
function quantiles(histogram: string, by: string, quantileList: readonly number[]): PromSeries[] {
  return quantileList.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${histogram}_bucket[$__rate_interval])))`,
    legend: `{{${by}}} p${Math.round(q * 100)}`,
  }));
}

function storesRow(builder: DashboardBuilder): void {
  builder.withRow(new RowBuilder("Stores: what each pipeline counted (the original four panels)"));
  for (const store of STORES) {
    builder
      .withPanel(
        storeHashTable({
          title: `Messages per country (${store.name})`,
          description: `HGETALL ${STORE_KEYS.countryCounts} on ${store.name}: messages the ${store.pipeline} pipeline counted per country.`,
          span: 7,
          datasource: store.datasource,
          key: STORE_KEYS.countryCounts,
          fieldTitle: "Country",
          valueTitle: "Messages",
        }),
      )
      .withPanel(
        storeCounterStat({
          title: `Total messages (${store.name})`,
          description: `GET ${STORE_KEYS.totalMessages} on ${store.name}: every message the ${store.pipeline} pipeline counted, each once.`,
          span: 5,
          datasource: store.datasource,
          key: STORE_KEYS.totalMessages,
        }),
      );
  }
}

function apiRow(builder: DashboardBuilder): void {
  builder
    .withRow(new RowBuilder("API: ingest and publishing"))
    .withPanel(
      promTimeSeries({
        title: "Ingest rate",
        description: "Messages the API accepted per second (both brokers confirmed), over all API replicas.",
        span: 6,
        unit: "reqps",
        series: [{ expr: "sum(rate(api_messages_accepted_total[$__rate_interval]))", legend: "accepted" }],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "HTTP responses by status",
        description: "Requests per second by HTTP status: 4xx are rejected messages, 5xx failed publishes.",
        span: 6,
        unit: "reqps",
        series: [{ expr: "sum by (status) (rate(api_http_requests_total[$__rate_interval]))", legend: "{{status}}" }],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "Publish latency per broker",
        description: "Time for a broker to confirm a publish (RabbitMQ publisher confirm, Kafka ack), p50 and p99.",
        span: 6,
        unit: "s",
        series: quantiles("api_broker_publish_duration_seconds", "broker", [0.5, 0.99]),
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "API request latency p95 by route",
        description: "95th percentile of API response time per route, broker round trips included.",
        span: 6,
        unit: "s",
        series: quantiles("api_http_request_duration_seconds", "route", [0.95]),
      }),
    );
}

function consumersRow(builder: DashboardBuilder): void {
  builder.withRow(new RowBuilder("Pipelines: consumers side by side"));
  flowPanels(builder);
  healthPanels(builder);
  storeWritePanels(builder);
}

/** How fast each pipeline reads and counts, and how long a message takes end to end. */
function flowPanels(builder: DashboardBuilder): void {
  builder
    .withPanel(
      promTimeSeries({
        title: "Consume rate per pipeline",
        description:
          "Messages per second each pipeline read from its broker (consumed) and added to its store (counted, duplicates excluded).",
        span: 12,
        unit: "reqps",
        series: [
          {
            expr: "sum by (pipeline) (rate(consumer_messages_counted_total[$__rate_interval]))",
            legend: "{{pipeline}} counted",
          },
          {
            expr: "sum by (pipeline) (rate(consumer_messages_consumed_total[$__rate_interval]))",
            legend: "{{pipeline}} consumed",
          },
        ],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "End-to-end latency per pipeline",
        description: "Time from the API accepting a message to its pipeline counting it in the store: p50, p95, p99.",
        span: 12,
        unit: "s",
        series: quantiles("consumer_end_to_end_latency_seconds", "pipeline", [0.5, 0.95, 0.99]),
      }),
    );
}

/** What waits, what went wrong, and who is up. */
function healthPanels(builder: DashboardBuilder): void {
  builder
    .withPanel(
      promTimeSeries({
        title: "Backlog: Kafka lag and RabbitMQ queue depth",
        description:
          "Messages waiting for each pipeline. Kafka lag is summed over the partitions each replica is assigned; every RabbitMQ replica sees the same queue, so its depth is the max, not the sum.",
        span: 8,
        unit: "short",
        series: [
          { expr: 'sum(consumer_kafka_lag{pipeline="kafka-redis"})', legend: "kafka-redis lag" },
          {
            expr: 'max(consumer_rabbitmq_queue_depth{pipeline="rabbitmq-valkey"})',
            legend: "rabbitmq-valkey queue depth",
          },
        ],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "Duplicates, replays, dead-letters and partial publishes",
        description:
          "Per scrape window: messages skipped because their id was counted within the dedup window (client retries), broker replays skipped as counted before (redeliveries, offsets replayed), messages dead-lettered by reason, API publishes only one broker confirmed, and those still waiting for the API to publish them to the other broker.",
        span: 8,
        unit: "short",
        series: [
          {
            expr: "sum by (pipeline) (increase(consumer_duplicates_total[$__rate_interval]))",
            legend: "{{pipeline}} duplicates",
          },
          {
            expr: "sum by (pipeline) (increase(consumer_replays_total[$__rate_interval]))",
            legend: "{{pipeline}} replays",
          },
          {
            // Labelled by reason, so no series exists until a first dead-letter: show 0 meanwhile.
            expr: "sum by (pipeline, reason) (increase(consumer_dead_lettered_total[$__rate_interval])) or on() vector(0)",
            legend: "dead-lettered {{pipeline}} {{reason}}",
          },
          {
            expr: "sum by (confirmed_by) (increase(api_partial_publishes_total[$__rate_interval])) or on() vector(0)",
            legend: "partial publish, confirmed by {{confirmed_by}}",
          },
          { expr: "sum(api_repair_queue_messages)", legend: "waiting for repair" },
        ],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "Replicas up",
        description:
          "Consumer replicas reporting consumer_up per pipeline, those ready (connected, store writes going through), and scrape targets Prometheus reaches per deployable.",
        span: 8,
        unit: "short",
        series: [
          { expr: "sum by (pipeline) (consumer_up)", legend: "{{pipeline}} replicas" },
          { expr: "sum by (pipeline) (consumer_ready)", legend: "{{pipeline}} ready" },
          {
            expr: 'sum by (job) (up{job=~"api|rabbitmq-consumer|kafka-consumer"})',
            legend: "{{job}} targets up",
          },
        ],
      }),
    );
}

/** The store round trips: how many messages each carries, and how long each takes. */
function storeWritePanels(builder: DashboardBuilder): void {
  builder
    .withPanel(
      promTimeSeries({
        title: "Store batch size (mean)",
        description: "Messages written per store round trip: larger batches mean fewer round trips per message.",
        span: 12,
        unit: "short",
        series: [
          {
            expr: "sum by (pipeline) (rate(consumer_batch_size_sum[$__rate_interval])) / sum by (pipeline) (rate(consumer_batch_size_count[$__rate_interval]))",
            legend: "{{pipeline}}",
          },
        ],
      }),
    )
    .withPanel(
      promTimeSeries({
        title: "Store write time per batch",
        description: "Time one batch takes to be written to Valkey or Redis (one pipelined transaction), p50 and p99.",
        span: 12,
        unit: "s",
        series: quantiles("consumer_store_batch_duration_seconds", "pipeline", [0.5, 0.99]),
      }),
    );
}

function recentMessagesRow(builder: DashboardBuilder): void {
  builder.withRow(new RowBuilder("Recent messages"));
  for (const store of STORES) {
    builder.withPanel(
      storeRecentMessagesTable({
        title: `Recent messages (${store.name})`,
        description: `The ${RECENT_MESSAGES_SHOWN} newest messages the ${store.pipeline} pipeline counted (LRANGE ${STORE_KEYS.recentMessages}).`,
        span: 12,
        datasource: store.datasource,
        key: STORE_KEYS.recentMessages,
        count: RECENT_MESSAGES_SHOWN,
      }),
    );
  }
}

/** The side-by-side dashboard of both pipelines. Deterministic: same code, same JSON. */
export function buildPipelinesDashboard(): Dashboard {
  const builder = new DashboardBuilder(PIPELINES_DASHBOARD_TITLE)
    .uid(PIPELINES_DASHBOARD_UID)
    .description("Both pipelines of the weather tweets system side by side: counts, rates, latency, backlog, errors.")
    .tags(["weather-tweets", "rabbitmq", "kafka", "valkey", "redis"])
    .refresh("5s")
    .time({ from: "now-15m", to: "now" })
    .timezone("browser")
    .tooltip(DashboardCursorSync.Crosshair)
    .editable();
  storesRow(builder);
  apiRow(builder);
  consumersRow(builder);
  recentMessagesRow(builder);
  const dashboard = builder.build();
  // Stable panel ids keep links and the committed JSON from changing between generations.
  dashboard.panels?.forEach((panel, index) => {
    panel.id = index + 1;
  });
  return dashboard;
}
