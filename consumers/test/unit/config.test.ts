import { describe, expect, test } from "bun:test";
import { ConfigError } from "@weather/config";
import { loadConsumerConfig } from "../../src/config.ts";

describe("consumer config", () => {
  test("the RabbitMQ pipeline defaults to Valkey on loopback, a quorum queue and a 10-minute dedup window", () => {
    const config = loadConsumerConfig({ CONSUMER_SOURCE: "rabbitmq" });
    expect(config.pipeline).toBe("rabbitmq-valkey");
    expect(config.STORE_URL).toBe("redis://127.0.0.1:6380");
    expect(config.HTTP_HOST).toBe("127.0.0.1");
    expect(config.RABBITMQ_QUEUE_TYPE).toBe("quorum");
    expect(config.BATCH_MAX_SIZE).toBe(500);
    expect(config.BATCH_MAX_WAIT_MS).toBe(0);
    expect(config.DEDUP_WINDOW_SECONDS).toBe(600);
  });

  test("service-link variables a kubelet adds (e.g. KAFKA_CONSUMER_PORT=tcp://...) do not stop it", () => {
    const config = loadConsumerConfig({
      CONSUMER_SOURCE: "kafka",
      KAFKA_CONSUMER_PORT: "tcp://10.0.0.7:3100",
      RABBITMQ_CONSUMER_PORT: "tcp://10.0.0.8:3100",
    });
    expect(config.HTTP_PORT).toBe(3100);
  });

  test("the Kafka pipeline defaults to Redis; explicit values win", () => {
    expect(loadConsumerConfig({ CONSUMER_SOURCE: "kafka" }).STORE_URL).toBe("redis://127.0.0.1:6379");
    const config = loadConsumerConfig({
      CONSUMER_SOURCE: "kafka",
      STORE_URL: "redis://10.0.0.1:6379/3",
      HTTP_PORT: "3205",
      BATCH_MAX_WAIT_MS: "5",
    });
    expect(config.pipeline).toBe("kafka-redis");
    expect(config.STORE_URL).toBe("redis://10.0.0.1:6379/3");
    expect(config.HTTP_PORT).toBe(3205);
    expect(config.BATCH_MAX_WAIT_MS).toBe(5);
  });

  test("a missing source or a bad number fails at start-up, naming the variable", () => {
    expect(() => loadConsumerConfig({})).toThrow(ConfigError);
    try {
      loadConsumerConfig({ CONSUMER_SOURCE: "rabbitmq", BATCH_MAX_SIZE: "0" });
      throw new Error("expected a ConfigError");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(["BATCH_MAX_SIZE"]);
    }
  });
});
