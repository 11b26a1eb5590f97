import { nearestRank } from "@weather/store";
/**
 * Sum of a metric's samples over all label sets in Prometheus text exposition format, or
 * null when the metric is absent. The one reader of /metrics text in the repository (the
 * bench and the tests); `labels` keeps only samples whose label set contains them.
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum: number | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== " " && next !== "{") continue;
    if (wanted.length > 0) {
      const labelText = next === "{" ? line.slice(name.length, line.indexOf("}") + 1) : "";
      if (!wanted.every((pair) => labelText.includes(pair))) continue;
    }
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** A histogram's cumulative bucket counts by upper bound (seconds; +Inf as Infinity). */
export type CumulativeBuckets = Map<number, number>;

/**
 * One histogram series (`<name>_bucket` samples whose labels contain `labels`, summed over the
 * rest) from Prometheus text, or null when absent.
 */
export function histogramBuckets(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): CumulativeBuckets | null {
  const prefix = `${name}_bucket{`;
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let buckets: CumulativeBuckets | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const labelText = line.slice(prefix.length - 1, line.indexOf("}") + 1);
    if (!wanted.every((pair) => labelText.includes(pair))) continue;
    const le = /le="([^"]+)"/.exec(labelText)?.[1];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    buckets ??= new Map();
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return buckets;
}

/**
 * Nearest-rank percentile, in ms, of what a histogram counted between two scrapes: the upper bound
 * of the bucket holding the rank (as Prometheus' histogram_quantile reads a bucket edge). Null when
 * nothing was counted in between.
 */
export function histogramPercentileMs(
  before: CumulativeBuckets | null,
  after: CumulativeBuckets | null,
  p: number,
): number | null {
  if (!after) return null;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counted = bounds.map((bound) => (after.get(bound) ?? 0) - (before?.get(bound) ?? 0));
  const total = counted.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = nearestRank(total, p);
  const index = counted.findIndex((cumulative) => cumulative >= rank);
  return (bounds[index] as number) * 1000;
}
