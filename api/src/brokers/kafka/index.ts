import { KafkaJsProducer } from "./kafkajs.ts";
import { PlatformaticProducer } from "./platformatic.ts";
import type { KafkaProducer, KafkaProducerOptions } from "./producer.ts";

export type KafkaClientName = "platformatic" | "kafkajs";

export function createKafkaProducer(client: KafkaClientName, options: KafkaProducerOptions): KafkaProducer {
  return client === "kafkajs" ? new KafkaJsProducer(options) : new PlatformaticProducer(options);
}
