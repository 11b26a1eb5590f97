import amqp, { type ChannelModel } from "amqplib";
import { BrokerError, describeError } from "./errors.ts";
import { amqpError, amqpRetriable } from "./rabbitmq.ts";

/** RABBITMQ_URL: one AMQP URL, or the nodes of one cluster separated by commas. */
export function rabbitmqUrls(list: string): string[] {
  const urls = list
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url !== "");
  if (urls.length === 0) throw new BrokerError("rabbitmq", "no RabbitMQ URL given", false);
  return urls;
}

/** The URL without its credentials, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, "$1");
}

/**
 * A node that vanishes without closing its sockets (a network cut, a lost machine) is noticed after
 * two missed heartbeats, rather than the server's proposal of 60 s (two minutes). Values of 5-20 s
 * are RabbitMQ's recommendation; a URL's own `heartbeat` parameter wins.
 */
export const DEFAULT_HEARTBEAT_S = 10;
/** An address whose TCP handshake or AMQP opening takes longer is given up for the next one. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface RabbitConnectOptions {
  /** Send each frame at once (publishers awaiting confirms). */
  noDelay?: boolean;
  /** Shown in the management UI's connection list. */
  connectionName?: string;
  connectTimeoutMs?: number;
}

function withDefaultHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("heartbeat")) parsed.searchParams.set("heartbeat", String(DEFAULT_HEARTBEAT_S));
  return parsed.toString();
}

/**
 * The nodes of one RabbitMQ cluster, as clients see them: `connect` tries each address in turn
 * until one opens, starting with the node after the one the previous connection used (the one most
 * likely to have just failed), so that a lost node costs one refused or timed-out attempt rather
 * than a stall. The first node is picked at random, so that replicas spread over the cluster. With
 * one URL this is a plain connect.
 */
export class RabbitMqNodes {
  readonly urls: readonly string[];
  #next: number;

  constructor(list: string, random: () => number = Math.random) {
    this.urls = rabbitmqUrls(list).map(withDefaultHeartbeat);
    this.#next = Math.floor(random() * this.urls.length) % this.urls.length;
  }

  /**
   * Opens a connection to the first node that accepts one. Rejects with a BrokerError: not
   * retriable as soon as a node refuses for good (credentials, vhost: the same on every node of
   * a cluster), retriable when every node was unreachable.
   */
  async connect(options: RabbitConnectOptions = {}): Promise<{ connection: ChannelModel; node: string }> {
    const failures: string[] = [];
    const causes: unknown[] = [];
    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const index = (this.#next + attempt) % this.urls.length;
      const url = this.urls[index] as string;
      try {
        const connection = await amqp.connect(url, {
          noDelay: options.noDelay ?? false,
          timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          clientProperties: options.connectionName ? { connection_name: options.connectionName } : {},
        });
        this.#next = (index + 1) % this.urls.length;
        return { connection, node: redactUrl(url) };
      } catch (error) {
        if (!amqpRetriable(error)) throw amqpError(`connecting to ${redactUrl(url)}`, error);
        failures.push(`${redactUrl(url)}: ${describeError(error)}`);
        causes.push(error);
      }
    }
    // The next attempt starts one node further, whatever this one found.
    this.#next = (this.#next + 1) % this.urls.length;
    throw new BrokerError("rabbitmq", `no node accepted a connection (${failures.join("; ")})`, true, {
      cause: new AggregateError(causes),
    });
  }
}
