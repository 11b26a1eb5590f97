import { percentile } from "../stats.ts";

export interface RequestOutcome {
  /** When the request was due, from the start of the load (ms). */
  dueOffsetMs: number;
  latencyMs: number;
  status: string;
  ok: boolean;
}

export interface SecondSample {
  second: number;
  sent: number;
  accepted: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Counts are in messages (a batch request carries `messagesPerRequest`); statuses and latencies are per request. */
export interface HttpLoadResult {
  generator: "vegeta" | "locust";
  /** Messages per second asked for. */
  targetRatePerS: number | null;
  durationS: number;
  messagesPerRequest: number;
  /** Messages the schedule asked for; more than `sent` when the generator ran out of workers. */
  scheduled: number;
  sent: number;
  accepted: number;
  failed: number;
  achievedRatePerS: number;
  statusCounts: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number } | null;
  /** Counts of HTTP latencies per bucket (upper bound in ms). */
  latencyHistogram: { upperMs: number; count: number }[];
  perSecond: SecondSample[];
  /** One row per request, for the raw CSV. */
  requests?: RequestOutcome[];
}

export const HTTP_HISTOGRAM_BOUNDS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

export function histogram(sortedMs: ArrayLike<number>, bounds: number[]): { upperMs: number; count: number }[] {
  const counts = bounds.map((upperMs) => ({ upperMs, count: 0 }));
  const overflow = { upperMs: Number.POSITIVE_INFINITY, count: 0 };
  let b = 0;
  for (let i = 0; i < sortedMs.length; i++) {
    const value = sortedMs[i] as number;
    while (b < bounds.length && value > (bounds[b] as number)) b++;
    if (b < bounds.length) (counts[b] as { count: number }).count++;
    else overflow.count++;
  }
  return [...counts, overflow];
}

export function summariseRequests(
  requests: RequestOutcome[],
  meta: {
    targetRatePerS: number | null;
    durationS: number;
    generator: "vegeta" | "locust";
    messagesPerRequest?: number;
  },
): HttpLoadResult {
  const m = meta.messagesPerRequest ?? 1;
  const statusCounts: Record<string, number> = {};
  const bySecond = new Map<number, { sent: number; accepted: number; failed: number; latencies: number[] }>();
  const all = new Float64Array(requests.length);
  let accepted = 0;
  requests.forEach((request, i) => {
    statusCounts[request.status] = (statusCounts[request.status] ?? 0) + 1;
    all[i] = request.latencyMs;
    const second = Math.floor(request.dueOffsetMs / 1000);
    let bucket = bySecond.get(second);
    if (!bucket) {
      bucket = { sent: 0, accepted: 0, failed: 0, latencies: [] };
      bySecond.set(second, bucket);
    }
    bucket.sent += m;
    bucket.latencies.push(request.latencyMs);
    if (request.ok) {
      accepted += m;
      bucket.accepted += m;
    } else bucket.failed += m;
  });
  all.sort();
  const perSecond = [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, b]) => {
      const sorted = Float64Array.from(b.latencies).sort();
      return {
        second,
        sent: b.sent,
        accepted: b.accepted,
        failed: b.failed,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
      };
    });
  return {
    generator: meta.generator,
    targetRatePerS: meta.targetRatePerS,
    durationS: meta.durationS,
    messagesPerRequest: m,
    scheduled: meta.targetRatePerS === null ? requests.length * m : Math.round(meta.targetRatePerS * meta.durationS),
    sent: requests.length * m,
    accepted,
    failed: requests.length * m - accepted,
    achievedRatePerS: accepted / meta.durationS,
    statusCounts,
    latencyMs:
      all.length === 0
        ? null
        : {
            p50: percentile(all, 50) as number,
            p90: percentile(all, 90) as number,
            p99: percentile(all, 99) as number,
            p999: percentile(all, 99.9) as number,
            max: all[all.length - 1] as number,
          },
    latencyHistogram: histogram(all, HTTP_HISTOGRAM_BOUNDS_MS),
    perSecond,
    requests,
  };
}
