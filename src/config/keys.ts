/**
 * The schema's keys as a flat list — dotted key, env var, whether it is a secret — so the
 * loader, the docs check and the deployment checks walk the schema one way.
 */
import { schema } from './schema.js';

export interface ConfigKey {
  readonly key: string;
  readonly env: string | undefined;
  readonly sensitive: boolean;
}

function walk(node: Record<string, unknown>, prefix: string): ConfigKey[] {
  return Object.entries(node).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    const spec = v as { env?: unknown; doc?: unknown; sensitive?: unknown };
    if (typeof spec.doc === 'string') return [{ key, env: typeof spec.env === 'string' ? spec.env : undefined, sensitive: spec.sensitive === true }];
    return walk(v as Record<string, unknown>, key);
  });
}

export const CONFIG_KEYS: readonly ConfigKey[] = walk(schema as unknown as Record<string, unknown>, '');

/** The env var of a dotted key, if it has one. */
export const envOf = (key: string): string | undefined => CONFIG_KEYS.find((k) => k.key === key)?.env;
