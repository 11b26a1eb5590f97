/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function round(value: number | null | undefined, digits = 2): number | null {
  if (value === null || value === undefined || !Number.isFinite(value))
    return value === Number.POSITIVE_INFINITY ? value : null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
