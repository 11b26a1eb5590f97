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
