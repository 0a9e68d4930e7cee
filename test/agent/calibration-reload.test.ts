/**
 * Recalibrating a running agent (docs/OPERATIONS.md, "Recalibrating a running agent"): a
 * replay agent scoring a paced stream picks up a new calibration on reload (SIGHUP in the
 * spawned CLI, reloadCalibration() or a watched file in process) without dropping a frame;
 * every verdict after the calibration-changed event uses the new threshold; the gauges
 * follow; an unchanged file changes nothing, and a foreign or broken one is refused while
 * the loaded calibration stays.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { ErrorCodes } from '../../src/errors.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SHIPPED = JSON.parse(readFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), 'utf8'));
const ID = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-reload-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The shipped calibration with its verdict rule's threshold moved so that every frame is
 * flagged (a Fisher statistic is never above 0) or none is, and GAIA-Z's own threshold
 * (the gaia_threshold gauge) moved to -1 or 5 alike.
 */
function recalibrated(flagAll: boolean, createdAt: string) {
  const z = SHIPPED.heads.gaia_z;
  const raw = flagAll ? -1 : 5;
  return {
    ...SHIPPED,
    createdAt,
    // The default rule's statistic (two-group: the smaller of its two groups' conformal p-values) is at most 1.
    verdict: { ...SHIPPED.verdict, threshold: flagAll ? 1 : -1e6, flagRate: 0.3 },
    heads: { ...SHIPPED.heads, gaia_z: { ...z, rawThreshold: raw, threshold: z.sign * raw } },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const verdictLines = (text: string) => text.split('\n').filter((l) => /\s(OOD|ok)$/.test(l));

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function replayAgent(calibration: string, extra: Record<string, string> = {}) {
  const config = loadConfig({
    env: {
      GAIA_REPLAY_DIRS: `${ID}*3`,
      GAIA_REPLAY_FPS: '400',
      GAIA_CALIBRATION: calibration,
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_TELEMETRY_PORT: '0',
      ...extra,
    },
  });
  const out: string[] = [];
  return Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }), verbose: true }).then((agent) => ({ agent, text: () => out.join('') }));
}

async function metricsOf(agent: Agent): Promise<string> {
  const port = (Reflect.get(Reflect.get(agent, 'p'), 'telemetry') as { port: number }).port;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe('reloading the calibration of a running replay agent (in process)', () => {
  it('swaps it between batches: no frame dropped, every later verdict uses the new threshold, gauges and counters follow', async () => {
    const path = join(tmp, 'live.json');
    writeFileSync(path, JSON.stringify(SHIPPED));
    const { agent, text } = await replayAgent(path);
    const running = agent.run();
    await until(() => verdictLines(text()).length >= 150, '150 verdicts');

    // The same file again: nothing changes.
    expect((await agent.reloadCalibration()).kind).toBe('unchanged');
    // A calibration made for another model: refused, the loaded one stays.
    writeFileSync(path, JSON.stringify({ ...SHIPPED, fingerprint: 'f'.repeat(64) }));
    const foreign = await agent.reloadCalibration();
    expect(foreign).toMatchObject({ kind: 'failed', error: { code: ErrorCodes.CALIBRATION_MISMATCH } });
    // Half-written JSON (a copy in progress): refused too.
    writeFileSync(path, JSON.stringify(SHIPPED).slice(0, 100));
    expect((await agent.reloadCalibration()).kind).toBe('failed');

    writeFileSync(path, JSON.stringify(recalibrated(true, '2026-12-01T00:00:00.000Z')));
    const changed = await agent.reloadCalibration();
    expect(changed.kind).toBe('changed');
    const metrics = await metricsOf(agent);
    const stats = await running;

    const lines = text().split('\n');
    const event = lines.findIndex((l) => l.includes('calibration-changed'));
    expect(event, 'a calibration-changed line').toBeGreaterThan(0);
    expect(lines[event]).toMatch(/calibration-changed fmnist-cnn: calibration [0-9a-f]{12} \(created 2026-12-01T00:00:00.000Z\)/);
    expect(lines[event + 1]).toMatch(/verdicts now: two-group\(gaia_z, mahalanobis, vim, input_.*\) ≤ 1\.000, p0 30\.0% \(was two-group\(gaia_z, .*\) ≤ 0\.0\d+\)/);
    const before = verdictLines(lines.slice(0, event).join('\n'));
    const after = verdictLines(lines.slice(event).join('\n'));
    // Nothing dropped: every frame of the replay has its verdict, and the summary agrees.
    expect(before.length + after.length).toBe(3 * 512);
    expect(stats.scored).toBe(3 * 512);
    expect(after.length).toBeGreaterThan(100);
    expect(after.every((l) => l.endsWith('OOD'))).toBe(true);
    expect(before.filter((l) => l.endsWith('OOD')).length / before.length).toBeLessThan(0.2);
    expect(metrics).toMatch(/^gaia_threshold\{model="fmnist-cnn"\} -1$/m);
    expect(metrics).toMatch(/^gaia_baseline_flag_ratio\{model="fmnist-cnn"\} 0\.3$/m);
    expect(metrics).toMatch(/^gaia_calibration_info\{model="fmnist-cnn",fingerprint="[0-9a-f]{16}"\} 1$/m);
    expect(metrics).toMatch(/^gaia_calibration_reloads_total\{result="changed"\} 1$/m);
    expect(metrics).toMatch(/^gaia_calibration_reloads_total\{result="failed"\} 2$/m);
    expect(metrics).toMatch(/^gaia_calibration_reloads_total\{result="unchanged"\} 1$/m);
    await agent.close();
  }, 60_000);

  it('with calibration.watchIntervalMs, a rewritten file is picked up without a signal', async () => {
    const path = join(tmp, 'watched.json');
    writeFileSync(path, JSON.stringify(SHIPPED));
    const { agent, text } = await replayAgent(path, { GAIA_CALIBRATION_WATCH_INTERVAL_MS: '100' });
    const running = agent.run();
    await until(() => verdictLines(text()).length >= 100, '100 verdicts');
    writeFileSync(path, JSON.stringify(recalibrated(false, '2026-12-01T01:00:00.000Z')));
    await until(() => text().includes('calibration-changed'), 'the calibration-changed line', 10_000);
    const stats = await running;
    const lines = text().split('\n');
    const after = verdictLines(lines.slice(lines.findIndex((l) => l.includes('calibration-changed'))).join('\n'));
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((l) => l.endsWith('ok'))).toBe(true); // nothing reaches a threshold of 5
    expect(stats.scored).toBe(3 * 512);
    await agent.close();
  }, 60_000);
});

describe('SIGHUP to the CLI', () => {
  it('gaia-sentinel run reloads on SIGHUP and goes on: the replay completes with every frame scored', async () => {
    const path = join(tmp, 'hup.json');
    writeFileSync(path, JSON.stringify(SHIPPED));
    const child = spawn(process.execPath, ['bin/gaia-sentinel.js', 'run', '--verbose', '--replay', `${ID}*3`], {
      cwd: ROOT,
      env: cleanEnv({ GAIA_CALIBRATION: path, GAIA_REPLAY_FPS: '400', GAIA_TELEMETRY_PORT: '0' }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(() => verdictLines(stdout).length >= 100, '100 verdicts');
    writeFileSync(path, JSON.stringify(recalibrated(true, '2026-12-01T02:00:00.000Z')));
    child.kill('SIGHUP');
    expect(await exited, stderr.slice(-2000)).toBe(0);
    expect(stderr).toContain('calibration reloaded');
    expect(stdout).toContain('calibration-changed');
    expect(stdout).toContain(`${3 * 512} frames scored, 0 rejected`);
    expect(verdictLines(stdout)).toHaveLength(3 * 512);
  }, 60_000);
});
