/** The original lab's Locust mix: random country from its list, random weather, "Clima en <country> <1-100>". */
export const COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"] as const;
/** As sent; the API stores "Nubloso" (the load scripts' spelling) as "Nublado". */
export const WEATHER_SENT = ["Lluvioso", "Nubloso", "Soleado"] as const;
const CANONICAL: Record<string, string> = { Nubloso: "Nublado" };

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)] as T;

export interface LoadResult {
  accepted: number;
  rejected: number;
  /** Accepted messages per country and per canonical weather. */
  countries: Record<string, number>;
  weathers: Record<string, number>;
  startedAt: number;
  finishedAt: number;
}

/**
 * Sends `total` messages to POST /process with at most `concurrency` requests in flight.
 * `progress` gets the running result after every response.
 */
export async function sendMessages(
  apiUrl: string,
  total: number,
  concurrency: number,
  progress: (result: LoadResult, sent: number) => void,
): Promise<LoadResult> {
  const result: LoadResult = {
    accepted: 0,
    rejected: 0,
    countries: {},
    weathers: {},
    startedAt: performance.now(),
    finishedAt: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const country = pick(COUNTRIES);
      const weather = pick(WEATHER_SENT);
      const body = JSON.stringify({
        description: `Clima en ${pick(COUNTRIES)} ${1 + Math.floor(Math.random() * 100)}`,
        country,
        weather,
      });
      try {
        const response = await fetch(`${apiUrl}/process`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await response.arrayBuffer();
        if (response.ok) {
          result.accepted++;
          result.countries[country] = (result.countries[country] ?? 0) + 1;
          const canonical = CANONICAL[weather] ?? weather;
          result.weathers[canonical] = (result.weathers[canonical] ?? 0) + 1;
        } else {
          result.rejected++;
        }
      } catch {
        result.rejected++;
      }
      progress(result, result.accepted + result.rejected);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  result.finishedAt = performance.now();
  return result;
}
