/**
 * What integration tests need to reach the Kafka broker that the global setup
 * (test/setup/kafka.ts) started or found: its bootstrap address, and fresh names so that
 * tests never share a topic or a consumer group.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap servers, comma-separated (`host:port[,host:port...]`). */
    kafkaBrokers: string;
    /** The broker's TLS listeners as "host:port ca-file user password mtls-host:port client-cert client-key", or ''. */
    kafkaSecure: string;
  }
}

/** The broker list for kafkajs (`brokers:`). Fails loudly when the global setup did not run. */
export function kafkaBrokers(): string[] {
  const list = inject('kafkaBrokers') ?? process.env.KAFKA_BROKERS;
  if (!list) {
    throw new Error(
      'No Kafka broker: the vitest globalSetup test/setup/kafka.ts did not run ' +
        '(add it to vitest.config.ts `test.globalSetup`), and KAFKA_BROKERS is not set.',
    );
  }
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A name no other test (or earlier run against the same broker) uses: `gaia-test-<kind>-<hex>`. */
export function uniqueName(kind: string): string {
  return `gaia-test-${kind}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export interface SecureListeners {
  /** TLS + SASL/PLAIN. */
  readonly broker: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  /** TLS that requires a client certificate (mutual TLS), and one the broker accepts. */
  readonly mtlsBroker: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The test broker's TLS listeners, if it has them. */
export function kafkaSecure(): SecureListeners | undefined {
  const [broker, caFile, username, password, mtlsBroker, certFile, keyFile] = (inject('kafkaSecure') ?? '').split(' ');
  return broker && caFile && username && password && mtlsBroker && certFile && keyFile
    ? { broker, caFile, username, password, mtlsBroker, certFile, keyFile }
    : undefined;
}
