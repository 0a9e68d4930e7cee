/**
 * A quiet first run, as a newcomer sees it: on a terminal `run` logs one short line per
 * entry (no JSON, no warning, nothing about CUDA on a machine that never asked for it);
 * piped, the log stays JSON for collectors; and npm itself says nothing about the project's
 * install settings. The terminal is a real pseudo-TTY (util-linux `script`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, prettyLine } from '../../src/telemetry/logger.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'gaia-sentinel.js');
// The default run, without pacing (the log does not depend on it) and on a free port (a busy
// 9464 would add its own warning).
const RUN_ENV = { GAIA_REPLAY_FPS: '0', GAIA_TELEMETRY_PORT: '0' };

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const hasScript = (() => {
  try {
    return execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
  } catch {
    return false;
  }
})();

describe('gaia-sentinel run, the default replay', () => {
  it.skipIf(!hasScript)('on a terminal logs short lines: no JSON, no warning, no CUDA', async () => {
    // stdout and stderr both on the pseudo-TTY, as in a terminal.
    const r = await run('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} run`, '/dev/null'], cleanEnv(RUN_ENV));
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.split(/\r?\n/);
    expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    expect(lines.filter((l) => /warn/i.test(l))).toEqual([]);
    expect(r.stdout).not.toMatch(/cuda|shared library/i);
    const logged = lines.filter((l) => /^\d\d:\d\d:\d\d INFO {2}\S/.test(l));
    expect(logged.map((l) => l.slice(15))).toEqual(expect.arrayContaining([expect.stringMatching(/^scoring graph .*executionProvider=\w+/), expect.stringMatching(/^stopped scored=2048 /)]));
    expect(r.stdout).toContain('2048 frames scored, 0 rejected');
  });

  it('piped logs JSON lines, none of them a warning: under the default providers a CPU fallback is info', async () => {
    const r = await run(process.execPath, [BIN, 'run'], cleanEnv(RUN_ENV));
    expect(r.code, r.stderr).toBe(0);
    const entries = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; using?: string });
    expect(entries.map((e) => e.msg)).toContain('stopped');
    expect(entries.filter((e) => e.level >= 40)).toEqual([]);
    const fallback = entries.find((e) => e.msg.startsWith('execution provider fallback'));
    if (fallback) expect(fallback).toMatchObject({ level: 30, using: 'cpu' });
  });

  it('warns of the fallback when the configuration names cuda', async () => {
    const r = await run(process.execPath, [BIN, 'run'], cleanEnv({ ...RUN_ENV, GAIA_EXECUTION_PROVIDERS: 'cuda,cpu' }));
    expect(r.code, r.stderr).toBe(0);
    const entries = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; executionProvider?: string });
    const provider = entries.find((e) => e.executionProvider)?.executionProvider;
    // Where CUDA loads there is no fallback to warn about.
    if (provider === 'cpu') expect(entries.find((e) => e.msg.startsWith('execution provider fallback'))).toMatchObject({ level: 40 });
  });
});

describe('npm in the repository', () => {
  it('says nothing about the project config (no "Unknown project config" warning)', async () => {
    // npm's own settings of an enclosing npm run (npm_config_*) are not the project's.
    const env = Object.fromEntries(Object.entries(cleanEnv()).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    const r = await run('npm', ['exec', '--no', '--', 'gaia-sentinel', '--version'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^gaia-sentinel \d/);
    expect(r.stderr).not.toMatch(/Unknown (project|env) config/);
    expect(r.stderr.split('\n').filter((l) => /^npm warn/i.test(l) && !/Unknown (user|global|builtin) config/.test(l))).toEqual([]);
  });
});

describe('the log format', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What a logger writes to a file posing as a terminal (isTTY) or not. */
  function written(format: string, isTTY: boolean): string {
    const path = join(dir, `${format}-${isTTY}.log`);
    const fd = openSync(path, 'w');
    const log = createLogger({ level: 'info', format }, { fd, isTTY } as unknown as NodeJS.WritableStream);
    log.info({ url: 'http://127.0.0.1:9464/metrics', heads: ['gaia_z', 'msp'] }, 'listening');
    log.warn({ tried: ['cuda: Failed to load shared library'], using: 'cpu' }, 'execution provider fallback: using cpu');
    closeSync(fd);
    return readFileSync(path, 'utf8');
  }

  it('auto: pretty on a terminal, JSON elsewhere; json and pretty whatever the destination', () => {
    expect(written('auto', true)).toMatch(/^\d\d:\d\d:\d\d INFO {2}listening url=http:\/\/127\.0\.0\.1:9464\/metrics\n/);
    expect(JSON.parse(written('auto', false).split('\n')[0]!)).toMatchObject({ level: 30, msg: 'listening' });
    expect(JSON.parse(written('json', true).split('\n')[0]!)).toMatchObject({ level: 30, msg: 'listening' });
    expect(written('pretty', false)).toMatch(/^\d\d:\d\d:\d\d INFO {2}listening /);
  });

  it('a routine line keeps a few short fields; a warning keeps all but what its message says', () => {
    const [info, warn] = written('pretty', false).trimEnd().split('\n');
    expect(info!.slice(9)).toBe('INFO  listening url=http://127.0.0.1:9464/metrics');
    expect(warn!.slice(9)).toBe('WARN  execution provider fallback: using cpu tried=["cuda: Failed to load shared library"]');
    const long = prettyLine(JSON.stringify({ level: 30, time: 0, msg: 'drift alarms', a: 1, b: 0.123456, c: 'x y', list: [1, 2], d: 'z'.repeat(50) }));
    expect(long.slice(9)).toBe('INFO  drift alarms a=1 b=0.1235 c="x y"\n');
  });
});
