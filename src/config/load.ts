/**
 * Loads and validates configuration: defaults < config file < environment < overrides.
 * An invalid value stops startup with the key, its env var, the value, and what is allowed.
 */
import convict from 'convict';
import { ErrorCodes, GaiaError } from '../errors.js';
import { schema } from './schema.js';

const PROVIDERS = ['cpu', 'cuda'];

convict.addFormat({
  name: 'provider-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty list such as ["cuda","cpu"]');
    for (const p of value) if (!PROVIDERS.includes(p)) throw new Error(`"${p}" is not one of ${PROVIDERS.join(', ')}`);
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

const build = (env: NodeJS.ProcessEnv) => convict(schema, { env, args: [] });
export type Config = ReturnType<ReturnType<typeof build>['getProperties']>;

export interface LoadOptions {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const conf = build(options.env ?? process.env);
  try {
    if (options.file) conf.loadFile(options.file);
    for (const [key, value] of Object.entries(options.overrides ?? {})) conf.set(key as never, value as never);
    conf.validate({ allowed: 'strict' });
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `invalid configuration: ${describe(cause as Error)}`, { cause });
  }
  return Object.freeze(conf.getProperties());
}

/** Adds each failing key's env var to convict's "key: reason: value" lines. */
function describe(err: Error): string {
  return err.message
    .split('\n')
    .map((line) => {
      const key = /^([\w.]+):/.exec(line)?.[1];
      const env = key ? envOf(key) : undefined;
      return env ? `${line} (env ${env})` : line;
    })
    .join('; ');
}

function envOf(key: string): string | undefined {
  let node: unknown = schema;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node as { env?: string } | undefined)?.env;
}
