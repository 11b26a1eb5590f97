import { createEnvelope, type Envelope, WEATHER_VALUES } from "@weather/schema";

/** The original lab's country list. */
export const COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"];

/** `count` valid envelopes, spread over every country and weather. */
export function makeEnvelopes(count: number): Envelope[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const country = COUNTRIES[i % COUNTRIES.length] as string;
    const weather = WEATHER_VALUES[i % WEATHER_VALUES.length] as string;
    return createEnvelope({ description: `Clima en ${country} ${(i % 100) + 1}`, country, weather }, now);
  });
}

/** What a store must hold after counting `envelopes` exactly once. */
export function expectedCounts(envelopes: readonly { country: string; weather: string }[]) {
  const countries: Record<string, number> = {};
  const weathers: Record<string, number> = {};
  for (const e of envelopes) {
    countries[e.country] = (countries[e.country] ?? 0) + 1;
    weathers[e.weather] = (weathers[e.weather] ?? 0) + 1;
  }
  return { countries, weathers };
}
