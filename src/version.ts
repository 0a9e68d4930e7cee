/**
 * What this build is: the package version (read from the package.json it ships with, so a
 * release cannot forget to bump a second copy), the scoring-semantics version calibrations
 * depend on, and the runtime versions that affect scores and speed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCORING_SEMANTICS_VERSION } from './compile/semantics.js';

export interface BuildInfo {
  readonly version: string;
  readonly scoringSemantics: number;
  readonly onnxruntime: string;
  readonly node: string;
}

/** The nearest package.json named gaia-sentinel above this file (src/ in tests, dist/src/ when built). */
function packageJson(): { version: string; dir: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gaia-sentinel' && pkg.version) return { version: pkg.version, dir };
    } catch {
      // not here: go up
    }
    const up = dirname(dir);
    if (up === dir) return { version: '0.0.0-unknown', dir };
    dir = up;
  }
}

/** The installed package's folder (where models/, calibration/ and schemas/ ship), wherever the command runs from. */
export function packageRoot(): string {
  return packageJson().dir;
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const { version, dir } = packageJson();
  let onnxruntime = 'unknown';
  try {
    const require = createRequire(join(dir, 'package.json'));
    onnxruntime = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    // not resolvable from here (a bundled build): say so rather than fail
  }
  cached = { version, scoringSemantics: SCORING_SEMANTICS_VERSION, onnxruntime, node: process.version };
  return cached;
}

