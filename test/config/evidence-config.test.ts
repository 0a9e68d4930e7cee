/** evidence.*: served beyond loopback, the evidence pages need a token file, and the agent refuses to start without one. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
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

it('makes the agent serve its evidence pages only with the token from the file, /metrics and the probes open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evidence-agent-'));
  const file = join(dir, 'token');
  writeFileSync(file, 'c0ffee00c0ffee00c0ffee00\n');
  let logged = '';
  const agent = await Agent.create(loadConfig({ env: { GAIA_TELEMETRY_PORT: '0', GAIA_EVIDENCE_TOKEN_FILE: file, GAIA_EXECUTION_PROVIDERS: 'cpu' } }), {
    stdout: { write: () => true },
    log: pino({ level: 'info' }, { write: (line: string) => void (logged += line) }),
  });
  try {
    const url = /"url":"(http:[^"]+)\/metrics"/.exec(logged)![1]!;
    expect((await fetch(`${url}/evidence`)).status).toBe(401);
    expect((await fetch(`${url}/evidence`, { headers: { authorization: 'Bearer c0ffee00c0ffee00c0ffee00' } })).status).toBe(200);
    expect((await fetch(`${url}/evidence?token=c0ffee00c0ffee00c0ffee00`, { headers: { authorization: 'Bearer c0ffee00c0ffee00c0ffee00' } })).status).toBe(400);
    for (const path of ['/metrics', '/healthz']) expect((await fetch(`${url}${path}`)).status, path).toBe(200);
  } finally {
    await agent.close();
  }
}, 60_000);
