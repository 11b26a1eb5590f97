import { describe, expect, test } from "bun:test";
import { JOBS } from "../../../test/observability/lib/contract.ts";
import { provisionedDatasources, readYaml } from "../../../test/observability/lib/files.ts";

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
  kubernetes_sd_configs?: { role: string; namespaces?: { own_namespace?: boolean } }[];
  relabel_configs?: { source_labels?: string[]; action?: string; regex?: string; target_label?: string }[];
}
interface PrometheusConfig {
  global: { scrape_interval: string };
  scrape_configs: ScrapeConfig[];
}

const native = await readYaml<PrometheusConfig>("prometheus/prometheus.native.yml");
const compose = await readYaml<PrometheusConfig>("prometheus/prometheus.compose.yml");
const k8s = await readYaml<PrometheusConfig>("prometheus/prometheus.k8s.yml");
const seconds = (duration: string) => Number.parseInt(duration, 10);

describe("prometheus.native.yml", () => {
  const targets = Object.fromEntries(
    native.scrape_configs.map((c) => [c.job_name, c.static_configs?.flatMap((s) => s.targets)]),
  );

  test("scrapes the API and each consumer replica on its own port, one job per deployable", () => {
    expect(targets).toEqual({
      api: ["127.0.0.1:3000"],
      "rabbitmq-consumer": ["127.0.0.1:3101", "127.0.0.1:3102"],
      "kafka-consumer": ["127.0.0.1:3201", "127.0.0.1:3202"],
    });
  });

  test("scrapes often enough for tests to see traffic within seconds", () => {
    expect(seconds(native.global.scrape_interval)).toBeLessThanOrEqual(2);
  });
});

describe("prometheus.compose.yml", () => {
  test("finds every replica of each compose service through DNS", () => {
    const discovered = compose.scrape_configs.map((c) => ({
      job: c.job_name,
      names: c.dns_sd_configs?.[0]?.names,
      port: c.dns_sd_configs?.[0]?.port,
    }));
    expect(discovered).toEqual([
      { job: "api", names: ["api"], port: 3000 },
      { job: "rabbitmq-consumer", names: ["rabbitmq-consumer"], port: 3100 },
      { job: "kafka-consumer", names: ["kafka-consumer"], port: 3100 },
    ]);
  });
});

describe("prometheus.k8s.yml", () => {
  const [pods] = k8s.scrape_configs;

  test("discovers pods of its own namespace only", () => {
    expect(pods?.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { own_namespace: true } }]);
  });

  test("keeps only pods annotated prometheus.io/scrape=true", () => {
    expect(pods?.relabel_configs?.[0]).toEqual({
      source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
      action: "keep",
      regex: "true",
    });
  });

  test("names the job after the pod's app label, as the other stacks do", () => {
    const jobSources = (pods?.relabel_configs ?? [])
      .filter((r) => r.target_label === "job")
      .flatMap((r) => r.source_labels ?? []);
    expect(jobSources).toContain("__meta_kubernetes_pod_label_app_kubernetes_io_name");
  });

  test("uses the interval the Grafana data source assumes", async () => {
    const prometheus = (await provisionedDatasources()).find((ds) => ds.uid === "prometheus") as {
      jsonData?: { timeInterval?: string };
    };
    expect(prometheus.jsonData?.timeInterval).toBe(k8s.global.scrape_interval);
    expect(prometheus.jsonData?.timeInterval).toBe(compose.global.scrape_interval);
  });
});

test("every stack names its jobs after the deployables", () => {
  expect(native.scrape_configs.map((c) => c.job_name)).toEqual([...JOBS]);
  expect(compose.scrape_configs.map((c) => c.job_name)).toEqual([...JOBS]);
});
