/**
 * The one place a kafkajs client is built, so the source and the sinks connect the same
 * way. kafkajs is in maintenance mode: only kafka-*.ts files import it, behind the
 * MessageSource and PipelineSinks interfaces, so it can be swapped.
 */
import kafkajs from 'kafkajs';
import type { Kafka, SASLOptions } from 'kafkajs';

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: SASLOptions;
}

/** Retries with backoff (up to ~2.5 min) ride out broker restarts before an error surfaces. */
export const KAFKA_RETRY = { retries: 30, initialRetryTime: 300, maxRetryTime: 5000 } as const;

export function kafkaClient(c: KafkaConnection): Kafka {
  return new kafkajs.Kafka({
    clientId: c.clientId,
    brokers: [...c.brokers],
    ssl: c.ssl,
    ...(c.sasl ? { sasl: c.sasl } : {}),
    logLevel: kafkajs.logLevel.WARN,
    retry: KAFKA_RETRY,
  });
}
