/** evidence.*: served beyond loopback, the evidence pages need a token file, and the agent refuses to start without one. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { evidenceToken } from '../../src/agent/evidence-wiring.js';
import { loadConfig } from '../../src/config/load.js';
import { ErrorCodes } from '../../src/errors.js';
import { caught } from '../helpers/caught.js';

it('refuses evidence on a non-loopback bind without evidence.tokenFile, naming the key and the way out', () => {
  const err = caught(() => loadConfig({ env: { GAIA_TELEMETRY_HOST: '0.0.0.0' } }));
  expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
  expect(err.message).toContain('evidence.tokenFile (env GAIA_EVIDENCE_TOKEN_FILE)');
  expect(err.message).toContain('evidence.enabled false');
  // Loopback, evidence off, or a token file: all start.
  for (const env of [{ GAIA_TELEMETRY_HOST: '127.0.0.1' }, { GAIA_TELEMETRY_HOST: '::1' }, { GAIA_TELEMETRY_HOST: '0.0.0.0', GAIA_EVIDENCE_ENABLED: 'false' }, { GAIA_TELEMETRY_HOST: '0.0.0.0', GAIA_EVIDENCE_TOKEN_FILE: '/run/secrets/t' }]) {
    expect(() => loadConfig({ env }), JSON.stringify(env)).not.toThrow();
  }
});

it('reads the token from its file (one trailing newline dropped) and refuses an unreadable or weak one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evidence-token-'));
  const good = join(dir, 'good');
  writeFileSync(good, 'a1b2c3d4e5f6a7b8c9d0\n');
  expect(evidenceToken(loadConfig({ env: { GAIA_EVIDENCE_TOKEN_FILE: good } }))).toBe('a1b2c3d4e5f6a7b8c9d0');
  const weak = join(dir, 'weak');
  writeFileSync(weak, 'secret\n');
  expect(caught(() => evidenceToken(loadConfig({ env: { GAIA_EVIDENCE_TOKEN_FILE: weak } }))).message).toContain('at least 16 characters');
  const missing = caught(() => evidenceToken(loadConfig({ env: { GAIA_EVIDENCE_TOKEN_FILE: join(dir, 'none') } })));
  expect(missing.code).toBe(ErrorCodes.BAD_CONFIG);
  expect(missing.message).toContain('evidence.tokenFile (env GAIA_EVIDENCE_TOKEN_FILE)');
  expect(evidenceToken(loadConfig({ env: { GAIA_EVIDENCE_TOKEN_FILE: good, GAIA_EVIDENCE_ENABLED: 'false' } }))).toBeUndefined();
});
