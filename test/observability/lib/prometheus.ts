/** The few calls of Prometheus's HTTP API the tests make. */

interface ApiResponse<T> {
  status: "success" | "error";
  data: T;
  error?: string;
  errorType?: string;
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface Target {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
}

export class PrometheusApi {
  constructor(readonly baseUrl: string) {}

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  }

  async #get<T>(path: string, params: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const url = `${this.baseUrl}${path}?${new URLSearchParams(params)}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    // 400 (bad expression) and 422 (cannot execute) carry an error body worth reporting.
    return (await response.json()) as ApiResponse<T>;
  }

  /** Instant query: each series' value by the given label (absent series are simply missing). */
  async valuesBy(expr: string, label: string): Promise<Record<string, number>> {
    const response = await this.#get<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      "/api/v1/query",
      { query: expr },
    );
    return Object.fromEntries(response.data.result.map((r) => [r.metric[label] ?? "", Number(r.value[1])]));
  }

  async queryRange(
    expr: string,
    startS: number,
    endS: number,
    stepS: number,
  ): Promise<ApiResponse<{ result: RangeSeries[] }>> {
    return this.#get("/api/v1/query_range", {
      query: expr,
      start: String(startS),
      end: String(endS),
      step: String(stepS),
    });
  }

  async activeTargets(): Promise<Target[]> {
    return (await this.#get<{ activeTargets: Target[] }>("/api/v1/targets", { state: "active" })).data.activeTargets;
  }

  /** Metric names with HELP/TYPE scraped from some target: present even before a first sample. */
  async metadataNames(): Promise<Set<string>> {
    return new Set(Object.keys((await this.#get<Record<string, unknown>>("/api/v1/metadata")).data));
  }
}
