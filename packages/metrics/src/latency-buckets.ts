/**
 * Upper bounds (ms) of every latency histogram of the system: 0.5 ms to 30 s, each 1.25x the one
 * before, so any percentile read from them is within 25 % of the truth; anything slower is "+Inf".
 * The stores' end-to-end buckets (@weather/store), the consumers' and the API's Prometheus
 * histograms, the dashboards and the bench reports all read the same bounds.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let bound = 0.5; bound < 30_000 * 1.25; bound *= 1.25) bounds.push(Number(bound.toPrecision(3)));
  return bounds;
})();

/** The same bounds in seconds, for Prometheus histograms. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);
