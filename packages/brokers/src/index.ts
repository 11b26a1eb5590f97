export * from "./errors.ts";
export * from "./kafka.ts";
export * from "./kafka-partitioner.ts";
export * from "./rabbitmq.ts";
export * from "./rabbitmq-nodes.ts";
export * from "./topology.ts";
