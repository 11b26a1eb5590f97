import { type Static, Type } from "@sinclair/typebox";
import { KafkaBrokers, loadConfig, RabbitMqUrls } from "@weather/config";

export const SCENARIOS = [
  "seed",
  "rate",
  "max",
  "replicas",
  "partitions",
  "backlog",
  "soak",
  "ceiling",
  "faults",
  "ha",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const Port = (fallback: number) => Type.Integer({ minimum: 1, maximum: 65535, default: fallback });

/**
 * Settings of `make bench`, read once from the environment (mk/bench.mk loads
 * .env.example, then .env). The bench starts its own API and consumers on ports of its
 * own so it never collides with a stack started by `scripts/dev.sh`.
 */
export const BenchConfig = Type.Object({
  SCENARIO: Type.Union(
    SCENARIOS.map((name) => Type.Literal(name)),
    { default: "rate" },
  ),
  /** Load duration of each phase; scenarios document how they use it. */
  DURATION_S: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  /** Requests (= messages) per second for the open-loop scenarios. */
  RATE: Type.Integer({ minimum: 1, maximum: 200000, default: 1000 }),
  /** Messages per request: 1 posts to /process (the original contract), more to /process/batch. */
  BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 1 }),
  /** `max`: first rate tried, and the largest rate tried. */
  MAX_START_RATE: Type.Integer({ minimum: 1, default: 1000 }),
  MAX_LIMIT_RATE: Type.Integer({ minimum: 1, default: 40000 }),
  /** `max`: load duration of each step of the search. */
  MAX_STEP_S: Type.Integer({ minimum: 1, maximum: 600, default: 20 }),
  /** `backlog`: how long consumers stay stopped while load runs (defaults to DURATION_S). */
  BACKLOG_S: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  /** `seed`: the original Locust run. */
  LOCUST_USERS: Type.Integer({ minimum: 1, default: 100 }),
  LOCUST_SPAWN_RATE: Type.Integer({ minimum: 1, default: 10 }),
  /** Replicas of each consumer outside the `replicas` scenario. */
  BENCH_CONSUMER_REPLICAS: Type.Integer({ minimum: 1, maximum: 8, default: 2 }),
  BENCH_KAFKA_PARTITIONS: Type.Integer({ minimum: 1, maximum: 64, default: 3 }),
  /** Logical DBs the bench owns in Valkey and Redis: its phases clear the layout keys there. */
  BENCH_VALKEY_DB: Type.Integer({ minimum: 0, maximum: 15, default: 15 }),
  BENCH_REDIS_DB: Type.Integer({ minimum: 0, maximum: 15, default: 15 }),
  BENCH_API_PORT: Port(3400),
  /** Consumers listen on BENCH_CONSUMER_BASE_PORT + n. */
  BENCH_CONSUMER_BASE_PORT: Port(3410),
  /** After the load: give up waiting for the stores after this long without progress. */
  DRAIN_STALL_S: Type.Integer({ minimum: 1, default: 15 }),
  DRAIN_TIMEOUT_S: Type.Integer({ minimum: 1, default: 300 }),
  /** Light load before each phase's measurement (0 = none); its messages are not counted. */
  WARMUP_S: Type.Integer({ minimum: 0, maximum: 60, default: 3 }),
  WARMUP_RATE: Type.Integer({ minimum: 1, default: 300 }),
  /**
   * The consumers' dedup window in every phase (their DEDUP_WINDOW_SECONDS; the deployed default).
   * The soak judges memory flat after 1.25 windows (a window and one bucket).
   */
  DEDUP_WINDOW_SECONDS: Type.Integer({ minimum: 4, maximum: 7 * 86400, default: 600 }),
  /** `soak`: load duration and rate (one phase), and how often memory is sampled. */
  SOAK_DURATION_S: Type.Integer({ minimum: 10, maximum: 86400, default: 1800 }),
  SOAK_RATE: Type.Integer({ minimum: 1, maximum: 200000, default: 2000 }),
  SOAK_SAMPLE_S: Type.Integer({ minimum: 1, maximum: 600, default: 10 }),
  /** `soak`: a series is flat when its fitted slope changes it by less than this % of its mean per hour. */
  SOAK_FLAT_PCT_PER_HOUR: Type.Number({ minimum: 0, default: 10 }),
  /** `ceiling`: how long each broker part publishes, and how many messages are in flight meanwhile. */
  CEILING_PART_S: Type.Integer({ minimum: 1, maximum: 600, default: 5 }),
  CEILING_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 100000, default: 1000 }),
  /** `ceiling`: messages per count-script call in the store parts (comma-separated). */
  CEILING_STORE_BATCHES: Type.String({ pattern: "^[0-9]+(,[0-9]+)*$", default: "100,500" }),
  /** `ceiling`: the pipelines' max-rate search is repeated with this many messages per request (POST /process/batch). */
  CEILING_PIPELINE_BATCH: Type.Integer({ minimum: 2, maximum: 500, default: 100 }),
  /** Where scripts/services.sh keeps the servers' pid files (relative to the checkout). */
  STATE_DIR: Type.String({ minLength: 1, default: ".state" }),
  /** Cap on vegeta's workers (each holds one connection at most). */
  LOAD_MAX_WORKERS: Type.Integer({ minimum: 1, default: 2000 }),
  REPORTS_DIR: Type.String({ minLength: 1, default: "reports" }),
  VEGETA_BIN: Type.String({ minLength: 1, default: ".tools/bin/vegeta" }),
  LOCUST_BIN: Type.String({ minLength: 1, default: ".tools/venv/bin/locust" }),
  RABBITMQ_URL: RabbitMqUrls("amqp://guest:guest@127.0.0.1:5672"),
  KAFKA_BROKERS: KafkaBrokers("127.0.0.1:9092"),
  /** The HA topology's nodes (TOPOLOGY=ha, scripts/ha/services.sh): `ha` and `faults` with TOPOLOGY=ha use them. */
  RABBITMQ_HA_URL: RabbitMqUrls(
    "amqp://guest:guest@127.0.0.1:5681,amqp://guest:guest@127.0.0.1:5682,amqp://guest:guest@127.0.0.1:5683",
  ),
  KAFKA_HA_BROKERS: KafkaBrokers("127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194"),
  KAFKA_HA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, maximum: 7, default: 3 }),
  RABBITMQ_HA_QUORUM_GROUP_SIZE: Type.Integer({ minimum: 1, maximum: 99, default: 3 }),
  /** `ha`: run the max-rate search on each topology (false: only the phase at RATE and the failovers). */
  HA_MAX_SEARCH: Type.Boolean({ default: true }),
  /** `faults`: single (the ten cases of bench/src/faults/cases.ts) or ha (the node-loss cases, on the clusters). */
  TOPOLOGY: Type.Union([Type.Literal("single"), Type.Literal("ha")], { default: "single" }),
  VALKEY_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:6380" }),
  REDIS_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:6379" }),
  /** `faults`: the cases to run (ids of bench/src/faults/cases.ts, comma-separated) or "all". */
  FAULTS: Type.String({ minLength: 1, default: "all" }),
  /** `faults`: short (what make test runs) or full (make chaos). */
  FAULT_PROFILE: Type.Union([Type.Literal("short"), Type.Literal("full")], { default: "full" }),
  /** `faults`: its API listens here, its consumers on +10.. and +20.. (a stack of its own, via scripts/dev.sh). */
  FAULTS_BASE_PORT: Port(3600),
  /** `faults` with TOPOLOGY=ha (and `ha`'s failover part): the same, for its stack on the clusters. */
  FAULTS_HA_BASE_PORT: Port(3700),
  /** `faults`: the logical DB of each store it owns and resets per case. */
  FAULTS_DB: Type.Integer({ minimum: 0, maximum: 15, default: 13 }),
  /** Prints one progress line a second to stderr when true. */
  BENCH_PROGRESS: Type.Boolean({ default: true }),
});
export type BenchConfig = Static<typeof BenchConfig>;

export function loadBenchConfig(env: Record<string, string | undefined> = process.env): Readonly<BenchConfig> {
  return loadConfig(BenchConfig, env);
}

/** A store URL pointed at one logical DB (the bench's own). */
export function withDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}
