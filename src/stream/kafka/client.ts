/**
 * The one place a kafkajs client is built, so the source and the sinks connect the same
 * way. kafkajs is in maintenance mode: only stream/kafka/ imports it, behind the stream
 * contracts (contracts/stream.ts), so it can be swapped.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import kafkajs from 'kafkajs';
import type { Kafka, logCreator, Producer, RetryOptions, SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { kafkaError } from './errors.js';

/** TLS with the system CAs (true), or with the given PEM CA and client certificate. */
export type KafkaTls = boolean | { readonly ca?: string[]; readonly cert?: string; readonly key?: string };

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: KafkaTls;
  readonly sasl?: SASLOptions;
  /** Retries of a failed request before the error surfaces (default 30: about 2.5 min of backoff). */
  readonly retries?: number;
  /** Where kafkajs logs (default: its own console logger at WARN). */
  readonly logger?: Logger;
}

/**
 * The TLS settings from config, with the PEM files read and parsed now: a bad path or a
 * file that is not a PEM key or certificate stops startup naming its key, where kafkajs
 * would retry the handshake for minutes and report only "connection error".
 */
export function kafkaTls(k: { ssl: boolean; sslCaFile: string; sslCertFile: string; sslKeyFile: string }): KafkaTls {
  if (!k.ssl || (!k.sslCaFile && !k.sslCertFile)) return k.ssl;
  const read = (key: string, env: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `kafka.${key} (env ${env}) = "${path}" cannot be read: ${(cause as Error).message}`, { cause });
    }
  };
  const tls = {
    ...(k.sslCaFile ? { ca: [read('sslCaFile', 'GAIA_KAFKA_SSL_CA_FILE', k.sslCaFile)] } : {}),
    ...(k.sslCertFile ? { cert: read('sslCertFile', 'GAIA_KAFKA_SSL_CERT_FILE', k.sslCertFile), key: read('sslKeyFile', 'GAIA_KAFKA_SSL_KEY_FILE', k.sslKeyFile) } : {}),
  };
  const check = (key: string, env: string, path: string, options: Parameters<typeof createSecureContext>[0]) => {
    try {
      createSecureContext(options);
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `kafka.${key} (env ${env}) = "${path}" is not usable for TLS: ${(cause as Error).message}`, { cause });
    }
  };
  if (tls.ca) check('sslCaFile', 'GAIA_KAFKA_SSL_CA_FILE', k.sslCaFile, { ca: tls.ca });
  if (tls.cert) {
    check('sslCertFile', 'GAIA_KAFKA_SSL_CERT_FILE', k.sslCertFile, { cert: tls.cert });
    // The key alone, then the pair: a key that does not match the certificate is named as such.
    check('sslKeyFile', 'GAIA_KAFKA_SSL_KEY_FILE', k.sslKeyFile, { key: tls.key });
    check('sslKeyFile', 'GAIA_KAFKA_SSL_KEY_FILE', k.sslKeyFile, { cert: tls.cert, key: tls.key });
  }
  return tls;
}

/** Retries with backoff (30: up to ~2.5 min) ride out broker restarts before an error surfaces. */
export function kafkaRetry(c: Pick<KafkaConnection, 'retries'>): RetryOptions {
  return { retries: c.retries ?? 30, initialRetryTime: 300, maxRetryTime: 5000 };
}

/**
 * kafkajs warnings that say nothing about a healthy agent, logged at debug. Our idempotent
 * producers keep the client's bounded retries (about 2.5 min) on purpose: when they run out
 * the delivery fails, the agent stops and its supervisor restarts it with a new producer, so
 * the sequence numbers kafkajs warns about are never reused.
 */
const EXPECTED_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/** kafkajs log entries as pino lines (one log stream for the whole process). */
function pinoLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (level <= kafkajs.logLevel.ERROR) child.error(extra, message);
      else if (level === kafkajs.logLevel.WARN && EXPECTED_WARNINGS.has(message)) child.debug(extra, message);
      else if (level === kafkajs.logLevel.WARN) child.warn(extra, message);
      else if (level === kafkajs.logLevel.INFO) child.info(extra, message);
      else child.debug(extra, message);
    };
}

export function kafkaClient(c: KafkaConnection): Kafka {
  return new kafkajs.Kafka({
    clientId: c.clientId,
    brokers: [...c.brokers],
    ssl: c.ssl,
    ...(c.sasl ? { sasl: c.sasl } : {}),
    logLevel: kafkajs.logLevel.WARN,
    ...(c.logger ? { logCreator: pinoLogCreator(c.logger) } : {}),
    retry: kafkaRetry(c),
  });
}

/** A connected idempotent producer (acks=all sends land once each, retries or not), partitioning by key. */
export async function connectProducer(c: KafkaConnection): Promise<Producer> {
  try {
    const producer = kafkaClient(c).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    return producer;
  } catch (cause) {
    throw kafkaError(`connecting the producer to ${c.brokers.join(',')}`, cause);
  }
}

/** How the agent (and `gaia-sentinel produce`) connect: brokers, TLS and SASL from config. */
export function kafkaConnection(config: Readonly<Config>, log: Logger): KafkaConnection {
  const k = config.kafka;
  return {
    brokers: k.brokers,
    clientId: k.clientId,
    ssl: kafkaTls(k),
    retries: k.retries,
    logger: log,
    ...(k.saslMechanism ? { sasl: { mechanism: k.saslMechanism, username: k.saslUsername, password: k.saslPassword } as SASLOptions } : {}),
  };
}
