import { loadBenchConfig } from "../../bench/src/config.ts";
import { summariseRequests } from "../../bench/src/load/summary.ts";
import type { PhaseResult, Sample } from "../../bench/src/phase.ts";
import type { RunInfo } from "../../bench/src/report/run-info.ts";
import { type CpuRow, cpuUsage } from "../../bench/src/resources.ts";
import type { ScenarioResult } from "../../bench/src/scenarios.ts";
import { analyseSoak } from "../../bench/src/soak.ts";
import type { StoreSnapshot } from "../../bench/src/stores.ts";

/** CPU of a phase's processes, seconds each (what a ProcessWatch would have read). */
export const FIXTURE_CPU_SECONDS: Record<string, [CpuRow["role"], number]> = {
  "rabbitmq-consumer-1": ["consumer", 0.4],
  vegeta: ["load generator", 0.5],
  api: ["api", 2],
  kafka: ["broker", 1.5],
  rabbitmq: ["broker", 0.999],
  valkey: ["store", 0.2],
  redis: ["store", 0.3],
};

/** A small, fully known phase, as the bench would record it, for report tests without a stack. */
export function fixturePhase(): PhaseResult {
  const requests = Array.from({ length: 1000 }, (_, i) => ({
    dueOffsetMs: i * 5,
    latencyMs: 1 + (i % 20),
    status: i === 999 ? "503" : "202",
    ok: i !== 999,
  }));
  const load = summariseRequests(requests, { targetRatePerS: 200, durationS: 5, generator: "vegeta" });
  const samples: Sample[] = Array.from({ length: 8 }, (_, t) => ({
    t,
    apiAccepted: Math.min(999, t * 200),
    counted: { "rabbitmq-valkey": Math.min(999, t * 200), "kafka-redis": Math.min(999, t * 190) },
  }));
  const snapshot = (countries: Record<string, number>): StoreSnapshot => ({
    total: 999,
    duplicates: 0,
    replays: 0,
    deadLettered: 0,
    countries,
    weathers: { Lluvioso: 333, Nublado: 333, Soleado: 333 },
    latencyMs: { "5": 500, "10": 400, "25": 90, "50": 9 },
    recent: 100,
  });
  return {
    spec: {
      id: "rate",
      label: "rate 200/s",
      replicas: { rabbitmq: 2, kafka: 2 },
      partitions: 3,
      load: { kind: "vegeta", ratePerS: 200, durationS: 5, messagesPerRequest: 1 },
    },
    names: {
      queue: "q",
      topic: "t",
      group: "g",
      valkeyUrl: "redis://127.0.0.1:6380/9",
      redisUrl: "redis://127.0.0.1:6379/9",
    },
    startedAt: "2026-01-01T00:00:00.000Z",
    load,
    accepted: 999,
    samples,
    pipelines: {
      "rabbitmq-valkey": {
        snapshot: snapshot({ GT: 500, MX: 499 }),
        counted: 999,
        lost: 0,
        extra: 0,
        caughtUpAfterS: 0.3,
      },
      "kafka-redis": { snapshot: snapshot({ GT: 501, MX: 498 }), counted: 999, lost: 0, extra: 0, caughtUpAfterS: 0.6 },
    },
    apiMetrics: { acceptedTotal: 999, partialPublishes: 0 },
    apiLatency: {
      request: { p50: 2.44, p99: 9.54 },
      rabbitmq: { p50: 1.56, p99: 7.63 },
      kafka: { p50: 2.44, p99: 4.88 },
    },
    loadWallS: 5,
    cpu: cpuUsage(
      Object.entries(FIXTURE_CPU_SECONDS).map(([name, [role, cpuSeconds]]) => ({
        name,
        role,
        cpuSeconds,
        usPerMessage: (cpuSeconds * 1e6) / 999,
      })),
      999,
      6,
    ),
  };
}

export function fixtureScenario(): { scenario: ScenarioResult; info: RunInfo } {
  return {
    scenario: { name: "rate", description: "fixture", phases: [fixturePhase()] },
    info: {
      runId: "fixture",
      startedAt: "2026-01-01T00:00:00.000Z",
      config: loadBenchConfig({}),
      serviceSettings: { API_PROCESSES: "2" },
      versions: { bun: Bun.version },
      gitCommit: "0000000",
      machine: { cpus: 2, cpuModel: "test", loadAverage: [0, 0, 0] },
    },
  };
}

/** Bytes in a MiB. */
const MIB = 2 ** 20;

/**
 * A soak phase of 1,800 s at 199.8 msg/s (the fixture's load) with a 600 s window, sampled every 10 s:
 * "api" flat with a GC saw-tooth, "leaky" growing 50 MiB an hour, keys turning once a bucket (150 s),
 * used_memory flat at 12 MiB in Valkey and 16 MiB in Redis.
 */
export function fixtureSoakPhase(): PhaseResult {
  const phase = fixturePhase();
  phase.spec = { ...phase.spec, id: "soak", label: "soak fixture", memorySampleS: 10 };
  phase.loadWallS = 1800;
  phase.memory = Array.from({ length: 181 }, (_, i) => {
    const t = i * 10;
    const keys = t % 150 < 60 ? 12 : 11;
    const store = (usedMemory: number) => ({ usedMemory, keys, dedupBuckets: keys - 6, unacknowledged: 0 });
    return {
      t,
      rssBytes: { api: 100 * MIB + (i % 6) * MIB, leaky: 100 * MIB + (t / 3600) * 50 * MIB },
      stores: { "rabbitmq-valkey": store(12 * MIB), "kafka-redis": store(16 * MIB) },
    };
  });
  return phase;
}

export function fixtureSoakScenario(): { scenario: ScenarioResult; info: RunInfo } {
  const { info } = fixtureScenario();
  const phase = fixtureSoakPhase();
  return {
    scenario: { name: "soak", description: "fixture", phases: [phase], soak: analyseSoak(phase, 600, 10) },
    info,
  };
}
