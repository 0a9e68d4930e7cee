/**
 * The one place a kafkajs client is built, so the source and the sinks connect the same
 * way. kafkajs is in maintenance mode: only kafka-*.ts files import it, behind the
 * MessageSource and PipelineSinks interfaces, so it can be swapped.
 */
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import type { Kafka, SASLOptions } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../errors.js';

/** TLS with the system CAs (true), or with the given PEM CA and client certificate. */
export type KafkaTls = boolean | { readonly ca?: string[]; readonly cert?: string; readonly key?: string };

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: KafkaTls;
  readonly sasl?: SASLOptions;
}

/** The TLS settings from config, with the PEM files read now, so a bad path stops startup naming its key. */
export function kafkaTls(k: { ssl: boolean; sslCaFile: string; sslCertFile: string; sslKeyFile: string }): KafkaTls {
  if (!k.ssl || (!k.sslCaFile && !k.sslCertFile)) return k.ssl;
  const read = (key: string, env: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `kafka.${key} (env ${env}) = "${path}" cannot be read: ${(cause as Error).message}`, { cause });
    }
  };
  return {
    ...(k.sslCaFile ? { ca: [read('sslCaFile', 'GAIA_KAFKA_SSL_CA_FILE', k.sslCaFile)] } : {}),
    ...(k.sslCertFile ? { cert: read('sslCertFile', 'GAIA_KAFKA_SSL_CERT_FILE', k.sslCertFile), key: read('sslKeyFile', 'GAIA_KAFKA_SSL_KEY_FILE', k.sslKeyFile) } : {}),
  };
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
