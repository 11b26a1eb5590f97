import { resolve } from "node:path";
import { loadStackConfig } from "@weather/config";

/** The repository root. */
export const ROOT = resolve(import.meta.dir, "../..");

/**
 * The native stack's addresses: the environment (which `make` fills from .env and .env.example
 * through scripts/lib/env.sh), else the same defaults as .env.example.
 */
export const stack = loadStackConfig();

export const kafkaBrokers = (): string[] => stack.KAFKA_BROKERS.split(",");
