import type { MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from "prom-client";

/** One label set's counts: what a hot path touches. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one value: a binary search over the bounds and three additions, nothing allocated. */
  observe(value: number): void {
    const bounds = this.bounds;
    let low = 0;
    let high = bounds.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((bounds[mid] as number) < value) low = mid + 1;
      else high = mid;
    }
    this.counts[low] = (this.counts[low] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

export interface HotHistogramOptions<L extends string> {
  name: string;
  help: string;
  /** Upper bounds, ascending; +Inf is added. */
  buckets: readonly number[];
  labelNames?: readonly L[];
  registers: Registry[];
}

/**
 * A Prometheus histogram for per-request and per-message paths. prom-client's own hashes the label
 * set and validates it on every observation, which showed in the API's profile at a few
 * microseconds a request; here a series is looked up once (`labels`) and observing is arithmetic.
 * prom-client still renders it: this object is registered as a metric of the registry and builds
 * the exposition (cumulative buckets, sum, count) only when Prometheus scrapes.
 */
export class HotHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  // prom-client declares MetricType as an enum of its typings only; the registry reads the string.
  readonly type = "histogram" as unknown as MetricType;
  readonly aggregator = "sum" as const;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Record<string, string>; series: HistogramSeries }>();

  constructor(options: HotHistogramOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets];
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of one label set, created on first use: keep it, and call observe on it. */
  labels(labels: Record<L, string>): HistogramSeries {
    const key = JSON.stringify(labels);
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { labels, series: new HistogramSeries(this.#bounds) };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, series } of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += series.counts[i] as number;
        const le = i < this.#bounds.length ? (this.#bounds[i] as number) : "+Inf";
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: series.count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
      collect: () => {},
    };
  }

  reset(): void {
    this.#series.clear();
  }
}
