/** Every configuration key and its env var are documented for users (docs/CONFIG.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { schema } from '../src/config/schema.js';

function leaves(node: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  return Object.entries(node).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    const spec = v as { env?: string; doc?: string };
    return spec.doc !== undefined ? [[key, spec.env ?? '']] : leaves(v as Record<string, unknown>, key);
  });
}

it('documents every config key with its env var in docs/CONFIG.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'CONFIG.md'), 'utf8');
  for (const [key, env] of leaves(schema)) {
    expect(doc, key).toContain(`| \`${key}\` | \`${env}\` |`);
  }
});
