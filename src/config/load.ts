/**
 * Loads and validates configuration: defaults < config file < environment < overrides.
 * An invalid value stops startup with the key, its env var, the value, and what is allowed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import convict from 'convict';
import { ErrorCodes, GaiaError } from '../errors.js';
import { CONFIG_KEYS, envOf } from './keys.js';
import { MAX_EXPECTED_RUN_TIME } from '../detect/drift.js';
import { schema } from './schema.js';
import { MIN_MESSAGE_BYTES } from './schema-source.js';
import { evidenceRefusal } from './schema-evidence.js';
import { packageRoot } from '../version.js';

const PROVIDERS = ['cpu', 'cuda'];

convict.addFormat({
  name: 'provider-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty list such as ["cuda","cpu"]');
    // "auto" (CUDA if it loads, else the CPU) stands alone.
    if (value.length === 1 && value[0] === 'auto') return;
    for (const p of value) if (!PROVIDERS.includes(p)) throw new Error(`"${p}" is not one of ${PROVIDERS.join(', ')} (or auto alone)`);
  },
  coerce: (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean),
});
convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error('must be a positive integer');
  },
  coerce: (v: string) => Number(v),
});

convict.addFormat({
  name: 'probability',
  validate(value: unknown) {
    if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new Error('must be a number strictly between 0 and 1');
  },
  coerce: (v: string) => Number(v),
});
convict.addFormat({
  name: 'positive-number',
  validate(value: unknown) {
    if (typeof value !== 'number' || !(value > 0 && Number.isFinite(value))) throw new Error('must be a number above 0');
  },
  coerce: (v: string) => Number(v),
});
convict.addFormat({
  name: 'probability-or-zero',
  validate(value: unknown) {
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new Error('must be 0 or a number between 0 and 1');
  },
  coerce: (v: string) => Number(v),
});

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'svg'] as const;
convict.addFormat({
  name: 'format-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error(`must be a list of ${IMAGE_FORMATS.join(', ')}`);
    for (const f of value) if (!(IMAGE_FORMATS as readonly string[]).includes(f)) throw new Error(`"${f}" is not one of ${IMAGE_FORMATS.join(', ')}`);
  },
  coerce: (v: string) => v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
});

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
convict.addFormat({
  name: 'bool',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false (also ${TRUE.slice(1).join('/')} or ${FALSE.slice(1).join('/')})`);
  },
  // convict's Boolean reads every string but "false" as true, so "0" would mean yes.
  coerce: (v: string) => (TRUE.includes(v.toLowerCase()) ? true : FALSE.includes(v.toLowerCase()) ? false : v),
});

const build = (env: NodeJS.ProcessEnv) => convict(schema, { env, args: [] });
export type Config = ReturnType<ReturnType<typeof build>['getProperties']>;

export interface LoadOptions {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const env = withSecretFiles(options.env ?? process.env);
  const conf = build(env);
  if (options.file) {
    try {
      conf.loadFile(options.file);
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `config file ${options.file} cannot be loaded: ${(cause as Error).message}`, { cause });
    }
  }
  try {
    for (const [key, value] of Object.entries(options.overrides ?? {})) conf.set(key as never, value as never);
    conf.validate({ allowed: 'strict' });
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: ${describe(cause as Error, env)}`, { cause });
  }
  const config = conf.getProperties();
  crossCheck(config);
  // The bundled example is found wherever the command runs from: in the installed package
  // when the current folder has no models/fmnist-cnn of its own.
  const bundled = schema.model.dir.default;
  if (config.model.dir === bundled && !existsSync(bundled)) config.model.dir = join(packageRoot(), bundled);
  return deepFreeze(config);
}

/**
 * `GAIA_X_FILE=/run/secrets/x` reads a secret from a file (Docker and Kubernetes secrets
 * are mounted as files, and an env var's value shows in `ps e` and crash dumps). One
 * trailing newline is dropped, as `echo` and most secret tools add one.
 */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let out = env;
  // Every sensitive key (passwords) may come from a file instead.
  for (const variable of CONFIG_KEYS.filter((k) => k.sensitive && k.env).map((k) => k.env!)) {
    const file = env[`${variable}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[variable] !== undefined && env[variable] !== '') {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: both ${variable} and ${variable}_FILE are set; set only one of them`);
    }
    let value: string;
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: ${variable}_FILE names ${file}, which cannot be read: ${(cause as Error).message}`, { cause });
    }
    out = { ...out, [variable]: value };
  }
  return out;
}

/** Rules that involve several keys. */
function crossCheck(c: Config): void {
  const bad = (why: string) => {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: ${why}`);
  };
  if (c.kafka.maxBytesPerPartition < c.frames.maxBytes) {
    bad(
      `kafka.maxBytesPerPartition (${c.kafka.maxBytesPerPartition}, env GAIA_KAFKA_MAX_BYTES_PER_PARTITION) must be at least frames.maxBytes ` +
        `(${c.frames.maxBytes}, env GAIA_FRAME_MAX_BYTES), or an oversized frame could never be fetched and would stall its partition`,
    );
  }
  if (c.kafka.maxMessageBytes < MIN_MESSAGE_BYTES) {
    bad(
      `kafka.maxMessageBytes (${c.kafka.maxMessageBytes}, env GAIA_KAFKA_MAX_MESSAGE_BYTES) must be at least ${MIN_MESSAGE_BYTES}: ` +
        'a dead letter cut down to digests, or a verdict, can take that much, and a record over the limit would be refused forever and stall its partition',
    );
  }
  if (c.runtime.maxWaitMs * 10 > c.kafka.sessionTimeoutMs) {
    bad(`runtime.maxWaitMs (${c.runtime.maxWaitMs}) must be far below kafka.sessionTimeoutMs (${c.kafka.sessionTimeoutMs}): at most a tenth of it`);
  }
  if (c.runtime.highWaterMark < c.runtime.maxBatch) {
    bad(
      `runtime.highWaterMark (${c.runtime.highWaterMark}, env GAIA_HIGH_WATER_MARK) must be at least runtime.maxBatch ` +
        `(${c.runtime.maxBatch}, env GAIA_MAX_BATCH): the source would pause before a batch could fill`,
    );
  }
  const tlsFiles = (['sslCaFile', 'sslCertFile', 'sslKeyFile'] as const).filter((k) => c.kafka[k]);
  if (tlsFiles.length > 0 && !c.kafka.ssl) {
    bad(`kafka.${tlsFiles[0]} is set but kafka.ssl (env GAIA_KAFKA_SSL) is false: set it to true to connect with TLS`);
  }
  if (Boolean(c.kafka.sslCertFile) !== Boolean(c.kafka.sslKeyFile)) {
    bad('kafka.sslCertFile and kafka.sslKeyFile (env GAIA_KAFKA_SSL_CERT_FILE, GAIA_KAFKA_SSL_KEY_FILE) go together: mutual TLS needs both');
  }
  const ertDefault = schema.drift.expectedRunTime.default;
  if (c.drift.alpha > 0 && c.drift.expectedRunTime !== ertDefault) {
    bad(
      `drift.alpha (${c.drift.alpha}, env GAIA_DRIFT_ALPHA) and drift.expectedRunTime (${c.drift.expectedRunTime}, env GAIA_DRIFT_EXPECTED_RUN_TIME) both set the flag-count threshold: ` +
        'set only drift.expectedRunTime (alpha 0), or only alpha',
    );
  }
  if (c.drift.expectedRunTime < 2 * c.drift.window || c.drift.expectedRunTime > MAX_EXPECTED_RUN_TIME) {
    bad(
      `drift.expectedRunTime (${c.drift.expectedRunTime}, env GAIA_DRIFT_EXPECTED_RUN_TIME) must be between twice drift.window (${2 * c.drift.window}) and ${MAX_EXPECTED_RUN_TIME} frames: ` +
        'a shorter one cannot be met by a test that needs a full window',
    );
  }
  const evidence = evidenceRefusal(c);
  if (evidence) bad(evidence);
  if (c.kafka.saslMechanism && !c.kafka.saslUsername) {
    bad(`kafka.saslMechanism is ${c.kafka.saslMechanism} but kafka.saslUsername (env GAIA_KAFKA_SASL_USERNAME) is empty`);
  }
}

/**
 * Completes convict's "key: reason" lines with the env var and the value as given
 * (convict omits falsy values, and coercion has already turned "abc" into NaN).
 */
function describe(err: Error, env: NodeJS.ProcessEnv): string {
  return err.message
    .split('\n')
    .map((line) => {
      const key = /^([\w.]+):/.exec(line)?.[1];
      const variable = key ? envOf(key) : undefined;
      if (!variable) return line;
      const raw = env[variable];
      const given = raw !== undefined && !line.includes('value was') ? `; value ${JSON.stringify(raw)} from ${variable}` : ` (env ${variable})`;
      return `${line}${given}`;
    })
    .join('; ');
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
