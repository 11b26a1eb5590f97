/**
 * The Java client's default partitioner for keyed records: murmur2 of the key's bytes, made
 * positive, modulo the partition count (the client applies the modulo). Records keyed by message id
 * go where any Kafka client would put them.
 *
 * Written here, with 32-bit integer arithmetic, because @platformatic/kafka's own murmur2 works in
 * BigInt and cost about 8% of the API's CPU per request; test/ checks that both agree.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const tailStart = length & ~3;
  for (let i = 0; i < tailStart; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last 1-3 bytes, as Java's switch with fall-through adds them.
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= (data[tailStart + 2] as number) << 16;
    if (rest >= 2) h ^= (data[tailStart + 1] as number) << 8;
    h ^= data[tailStart] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partitioner @platformatic/kafka's producer takes: the key's positive murmur2 (the producer takes it modulo the partitions). */
export function javaCompatiblePartitioner(_message: unknown, key: Buffer | undefined): number {
  return key === undefined ? 0 : murmur2(key) & 0x7fffffff;
}
