/** The original lab's load: these countries, the three weather values, "Clima en <country> <1-100>". */
export const COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"] as const;
export const WEATHERS = ["Lluvioso", "Nublado", "Soleado"] as const;

export interface PreparedMessage {
  country: string;
  body: string;
}

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)] as T;
}

/**
 * Bodies are prepared before the run so the send loop only picks one: at 10k req/s
 * JSON encoding per request would steal time from the schedule.
 */
export function prepareMessages(count = 4096): PreparedMessage[] {
  const messages: PreparedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const country = pick(COUNTRIES);
    const description = `Clima en ${pick(COUNTRIES)} ${1 + Math.floor(Math.random() * 100)}`;
    messages.push({ country, body: JSON.stringify({ description, country, weather: pick(WEATHERS) }) });
  }
  return messages;
}
