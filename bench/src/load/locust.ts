import { nearestRank } from "@weather/store";
import type { Subprocess } from "bun";
import { HTTP_HISTOGRAM_BOUNDS_MS, type HttpLoadResult, type SecondSample } from "./summary.ts";

export interface LocustOptions {
  bin: string;
  locustfile: string;
  host: string;
  users: number;
  spawnRate: number;
  durationS: number;
  /** Locust writes its final statistics to <prefix>.json. */
  jsonPrefix: string;
  logFile: string;
  /** Called with the Locust process as soon as it runs (CPU and memory accounting). */
  onSpawn?: (child: Subprocess) => void;
}

/** One entry of Locust's --json-file output (per endpoint). */
interface LocustStats {
  name: string;
  num_requests: number;
  num_failures: number;
  max_response_time: number;
  /** Response time rounded by Locust (ms, as a string) -> requests. */
  response_times: Record<string, number>;
  num_reqs_per_sec: Record<string, number>;
  num_fail_per_sec: Record<string, number>;
}

/** Percentile from Locust's rounded response-time counts (nearest rank, as everywhere). */
function percentileOf(sorted: [number, number][], total: number, p: number): number {
  const rank = nearestRank(total, p);
  let seen = 0;
  for (const [ms, count] of sorted) {
    seen += count;
    if (seen >= rank) return ms;
  }
  return sorted.at(-1)?.[0] ?? Number.NaN;
}

/**
 * The original lab's load: Locust users with a 0.1-0.5 s think time (a closed loop).
 * Figures come from --json-file, written when Locust stops (its CSV files are only
 * refreshed periodically and miss the last requests).
 */
export async function runLocust(options: LocustOptions): Promise<HttpLoadResult> {
  const locust = Bun.spawn(
    [
      options.bin,
      "-f",
      options.locustfile,
      `--host=${options.host}`,
      `--users=${options.users}`,
      `--spawn-rate=${options.spawnRate}`,
      `--run-time=${options.durationS}s`,
      "--headless",
      "--only-summary",
      `--json-file=${options.jsonPrefix}`,
      "--exit-code-on-error=0",
    ],
    { stdout: Bun.file(options.logFile), stderr: Bun.file(`${options.logFile}.err`) },
  );
  options.onSpawn?.(locust);
  const code = await locust.exited;
  if (code !== 0) throw new Error(`locust exited with ${code} (see ${options.logFile}.err)`);

  const entries = (await Bun.file(`${options.jsonPrefix}.json`).json()) as LocustStats[];
  let sent = 0;
  let failed = 0;
  let max = 0;
  const times = new Map<number, number>();
  const perSecondSent = new Map<number, number>();
  const perSecondFailed = new Map<number, number>();
  const add = (map: Map<number, number>, key: number, value: number) => map.set(key, (map.get(key) ?? 0) + value);
  for (const entry of entries) {
    sent += entry.num_requests;
    failed += entry.num_failures;
    max = Math.max(max, entry.max_response_time);
    for (const [ms, count] of Object.entries(entry.response_times)) add(times, Number(ms), count);
    for (const [second, count] of Object.entries(entry.num_reqs_per_sec)) add(perSecondSent, Number(second), count);
    for (const [second, count] of Object.entries(entry.num_fail_per_sec)) add(perSecondFailed, Number(second), count);
  }
  const sorted = [...times.entries()].sort(([a], [b]) => a - b);
  const t0 = Math.min(...perSecondSent.keys());
  const perSecond: SecondSample[] = [...perSecondSent.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, count]) => {
      const failedNow = perSecondFailed.get(second) ?? 0;
      return {
        second: second - t0,
        sent: count,
        accepted: count - failedNow,
        failed: failedNow,
        p50Ms: null,
        p99Ms: null,
      };
    });
  const latencyHistogram = [...HTTP_HISTOGRAM_BOUNDS_MS, Number.POSITIVE_INFINITY].map((upperMs) => ({
    upperMs,
    count: 0,
  }));
  for (const [ms, count] of sorted) {
    const bucket = latencyHistogram.find((b) => ms <= b.upperMs);
    if (bucket) bucket.count += count;
  }
  return {
    generator: "locust",
    targetRatePerS: null,
    durationS: options.durationS,
    messagesPerRequest: 1,
    scheduled: sent,
    sent,
    accepted: sent - failed,
    failed,
    achievedRatePerS: (sent - failed) / options.durationS,
    statusCounts: { "2xx": sent - failed, "non-2xx or error": failed },
    latencyMs:
      sent === 0
        ? null
        : {
            p50: percentileOf(sorted, sent, 50),
            p90: percentileOf(sorted, sent, 90),
            p99: percentileOf(sorted, sent, 99),
            p999: percentileOf(sorted, sent, 99.9),
            max,
          },
    latencyHistogram,
    perSecond,
  };
}
