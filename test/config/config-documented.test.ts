/** Every configuration key and its env var are documented for users (docs/CONFIG.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/keys.js';

it('documents every config key with its env var in docs/CONFIG.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'CONFIG.md'), 'utf8');
  for (const { key, env = '' } of CONFIG_KEYS) {
    expect(doc, key).toContain(`| \`${key}\` | \`${env}\` |`);
  }
});
