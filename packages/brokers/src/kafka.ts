import { type Admin, MultipleErrors } from "@platformatic/kafka";
import { sleep } from "@weather/async";
import { BrokerError, describeError } from "./errors.ts";

/**
 * Kafka's verdict on a failure. A single error carries `canRetry`; an aggregate (the client's
 * "failed N times") is retriable only if every error inside it is.
 */
export function kafkaRetriable(error: unknown): boolean {
  if (MultipleErrors.isMultipleErrors(error as Error)) {
    return (error as MultipleErrors).errors.every((inner) => inner === undefined || kafkaRetriable(inner));
  }
  const canRetry = (error as { canRetry?: unknown } | null)?.canRetry;
  return typeof canRetry === "boolean" ? canRetry : true;
}

/** Wraps a Kafka client failure with the client's own retriable verdict. */
export function kafkaError(what: string, error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  return new BrokerError("kafka", `${what}: ${describeError(error)}`, kafkaRetriable(error), { cause: error });
}

export interface KafkaTopicSettings {
  partitions: number;
  /** Copies of each partition; min.insync.replicas is set to one less (at least 1). */
  replicationFactor: number;
}

/**
 * Creates the topics that are missing, with the project's settings. Several processes start at
 * once (API replicas, consumers), so a concurrent creator is expected: look again before failing.
 */
export async function ensureKafkaTopics(
  admin: Admin,
  topics: readonly string[],
  settings: KafkaTopicSettings,
): Promise<void> {
  const minInsync = Math.max(1, settings.replicationFactor - 1);
  for (let attempt = 0; ; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        topics: missing,
        partitions: settings.partitions,
        replicas: settings.replicationFactor,
        configs: [{ name: "min.insync.replicas", value: String(minInsync) }],
      });
      return;
    } catch (error) {
      if (attempt >= 3) throw kafkaError(`creating ${missing.join(", ")}`, error);
      await sleep(200); // most likely "already exists" from a concurrent creator
    }
  }
}

/**
 * Records of `topic` the consumer group has not committed, over all partitions: 0 means everything
 * published so far was processed and committed, so no replay can come for this group.
 */
export async function kafkaGroupLag(admin: Admin, topic: string, groupId: string): Promise<number> {
  const metadata = await admin.metadata({ topics: [topic] });
  const partitions = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const [ends, groups] = await Promise.all([
    admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })),
        },
      ],
    }),
    admin.listConsumerGroupOffsets({ groups: [groupId] }),
  ]);
  const committed = new Map<number, bigint>();
  for (const t of groups[0]?.topics ?? []) {
    if (t.name !== topic) continue;
    for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset);
  }
  let lag = 0n;
  for (const p of ends[0]?.partitions ?? []) {
    const done = committed.get(p.partitionIndex) ?? -1n;
    lag += p.offset - (done < 0n ? 0n : done);
  }
  return Number(lag);
}

/** True when the group is stable with `members` members that all hold partitions (no rebalance under way). */
export async function kafkaGroupStable(admin: Admin, groupId: string, members: number): Promise<boolean> {
  const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId);
  if (group?.state.toUpperCase() !== "STABLE" || group.members.size !== members) return false;
  return [...group.members.values()].every((member) => (member.assignments?.size ?? 0) > 0);
}
