/**
 * Errors, not stack traces (issue #10, defect 7): the CLI spawned as users run it, on
 * configuration and files an unlucky operator meets. Each ends with one line naming the
 * setting or the path and a documented code, and an exit code from cli/main.ts.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, kafkaSecure } from '../setup/kafka-context.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES_ID = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-cli-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[], env: Record<string, string> = {}, timeout = 120_000): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gaia-sentinel.js', ...args], { cwd: ROOT, env: cleanEnv({ GAIA_EXECUTION_PROVIDERS: 'cpu', ...env }), timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** No JavaScript stack frame reached the user. */
const noStack = (r: Result) => expect(r.stderr, r.stderr.slice(-1500)).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

/** A folder with a few sample PNGs. */
function sampleFolder(name: string, count: number): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(SAMPLES_ID).sort().slice(0, count)) copyFileSync(join(SAMPLES_ID, f), join(dir, f));
  return dir;
}

describe('configuration and calibration values', () => {
  it('refuses runtime.highWaterMark below runtime.maxBatch, naming both', async () => {
    const r = await cli(['run'], { GAIA_HIGH_WATER_MARK: '8', GAIA_MAX_BATCH: '32' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runtime\.highWaterMark \(8, env GAIA_HIGH_WATER_MARK\) must be at least runtime\.maxBatch \(32, env GAIA_MAX_BATCH\)/);
    noStack(r);
  });

  it.each([
    ['p0 = 0', (h: Record<string, unknown>) => (h.flagRate = 0), /heads\.gaia_z\.flagRate is 0/],
    ['a string threshold', (h: Record<string, unknown>) => (h.threshold = '-0.25'), /heads\.gaia_z\.threshold is "-0\.25"/],
  ])('refuses a calibration file with %s, naming the field', async (_, spoil, message) => {
    const file = JSON.parse(readFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), 'utf8'));
    spoil(file.heads.gaia_z);
    const path = join(tmp, `spoilt-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(file));
    const r = await cli(['run'], { GAIA_CALIBRATION: path, GAIA_REPLAY_FPS: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('[GAIA_BAD_CONFIG]');
    noStack(r);
  });
});

describe('output folders calibrate and eval cannot write', () => {
  const data = sampleFolder('calib', 24);

  it('calibrate: a full disk (/dev/full) is GAIA_IO naming the path', async () => {
    const r = await cli(['calibrate', '--model', 'models/fmnist-cnn', '--data', data, '--out', '/dev/full', '--min-frames', '20', '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write \/dev\/full \(the disk is full\).*\[GAIA_IO\]/);
    noStack(r);
  });

  it('eval: an output folder under a plain file is GAIA_IO naming the path', async () => {
    const file = join(tmp, 'not-a-folder');
    writeFileSync(file, 'x');
    const r = await cli(['eval', '--model', 'models/fmnist-cnn', '--id', data, '--ood', data, '--out-dir', join(file, 'reports')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*not-a-folder.*\[GAIA_IO\]/);
    noStack(r);
  });
});

describe('huge files among frames', () => {
  it('a replay folder with a 2.1 GiB file: the file is rejected as too-large (not read), the rest is scored', async () => {
    const dir = sampleFolder('replay-huge', 8);
    const huge = join(dir, 'zz-huge.png');
    writeFileSync(huge, '');
    truncateSync(huge, Math.round(2.1 * 1024 ** 3)); // sparse: no disk used
    const r = await cli(['run', '--replay', dir], { GAIA_REPLAY_FPS: '0' });
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    expect(r.stdout).toContain('8 frames scored, 1 rejected');
    expect(r.stderr).toMatch(/"reason":"too-large"/);
    noStack(r);
  });

  it('a calibration folder with a 2.1 GiB file: calibrate skips it as too-large and writes the calibration', async () => {
    const dir = sampleFolder('calib-huge', 24);
    const huge = join(dir, 'zz-huge.png');
    writeFileSync(huge, '');
    truncateSync(huge, Math.round(2.1 * 1024 ** 3));
    const out = join(tmp, 'calib-huge.json');
    const r = await cli(['calibrate', '--model', 'models/fmnist-cnn', '--data', dir, '--out', out, '--min-frames', '20']);
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    expect(r.stderr).toMatch(/skipped .*zz-huge\.png: .*\(too-large\)/);
    expect(JSON.parse(readFileSync(out, 'utf8')).data.frames).toBe(24);
  });
});

describe('TLS settings', () => {
  const secure = kafkaSecure();
  it.skipIf(!secure)('an invalid TLS key stops startup at once, naming kafka.sslKeyFile (not minutes of retries)', async () => {
    const key = join(tmp, 'garbage.key');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    const r = await cli(['run'], {
      GAIA_SOURCE: 'kafka',
      GAIA_KAFKA_BROKERS: secure?.mtlsBroker ?? kafkaBrokers()[0]!,
      GAIA_KAFKA_SSL: 'true',
      GAIA_KAFKA_SSL_CA_FILE: secure!.caFile,
      GAIA_KAFKA_SSL_CERT_FILE: secure!.certFile,
      GAIA_KAFKA_SSL_KEY_FILE: key,
      GAIA_TELEMETRY_PORT: '0',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kafka\.sslKeyFile \(env GAIA_KAFKA_SSL_KEY_FILE\) = ".*garbage\.key" is not usable for TLS/);
    expect(r.ms).toBeLessThan(30_000);
    noStack(r);
  });
});
