/**
 * The agent's release, read once from its package.json (found by walking up from this
 * file: the path differs between the sources and dist/).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gaia-sentinel' && pkg.version) return (cached = pkg.version);
    } catch {
      // not here: look one folder up
    }
    if (dirname(dir) === dir) return (cached = 'unknown');
  }
}
