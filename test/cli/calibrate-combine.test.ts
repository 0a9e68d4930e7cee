/**
 * `calibrate --verdict-combine` with the combinations beyond Fisher, end to end on the bundled
 * model: the CLI fits and writes each rule, the agent's loader accepts it, and on held-out ID
 * frames (the other half of the committed evaluation set) it flags 5% ± 1%, as the agent
 * judges. An unknown rule is refused with the list of rules.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import type { HeadName } from '../../src/compile/heads.js';
import { loadConfig } from '../../src/config/load.js';
import { openFrameSet } from '../../src/frames/frame-set.js';
import { scoreSet } from '../../src/offline/score-set.js';
import { openOfflineSession } from '../../src/offline/session.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EVAL_HALF = join(ROOT, 'test', 'fixtures', 'sets', 'fmnist-eval', 'images-idx3-ubyte.gz');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-calibrate-combine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gaia-sentinel.js', ...args], { cwd: ROOT, env: cleanEnv({}), timeout: 120_000 }, (err, stdout, stderr) => {
      const code = (err as (Error & { code?: number }) | null)?.code;
      resolve({ code: typeof code === 'number' ? code : err ? 1 : 0, stdout, stderr });
    });
  });
}

/** Frames [from, to) of the committed evaluation set as a set of their own (IDX). */
function slice(name: string, from: number, to: number): string {
  const idx = gunzipSync(readFileSync(EVAL_HALF));
  const side = idx.readUInt32BE(8) * idx.readUInt32BE(12);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(to - from, 4);
  idx.copy(header, 8, 8, 16);
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'images-idx3-ubyte'), Buffer.concat([header, idx.subarray(16 + from * side, 16 + to * side)]));
  return dir;
}

describe('calibrate --verdict-combine', () => {
  it('writes each new rule; loaded as the agent loads it, it flags 5% ± 1% of held-out ID frames', async () => {
    const calib = slice('calib', 0, 2500);
    const heldOut = slice('held-out', 2500, 5000);
    const config = loadConfig({ env: {}, overrides: { 'model.dir': 'models/fmnist-cnn', 'runtime.executionProviders': ['cpu'], 'runtime.maxBatch': 128 } });
    const session = await openOfflineSession(config, { heads: ['logits', 'gaia_z', 'msp', 'energy'] as HeadName[] });
    try {
      const scores = await scoreSet(await openFrameSet(heldOut), session.pre, session.scorer, { batch: 128, onBadFrame: 'stop' });
      for (const combine of ['fisher-guard', 'cauchy', 'hmp', 'fisher-weighted', 'two-group']) {
        const out = join(tmp, `${combine}.json`);
        const run = await cli(['calibrate', '--model', 'models/fmnist-cnn', '--data', calib, '--methods', 'gaia_z,msp,energy', '--verdict-heads', 'gaia_z,msp,energy', '--verdict-combine', combine, '--out', out, '--json']);
        expect(run.code, run.stderr).toBe(0);
        expect(JSON.parse(run.stdout).verdict).toMatchObject({ combine, heads: ['gaia_z', 'msp', 'energy'] });
        const judge = judgeOf(out, await loadCalibration(out, { model: 'fmnist-cnn', fingerprint: session.fingerprint }));
        expect(judge.describe()).toMatch(new RegExp(`^${combine}\\(gaia_z, msp, energy\\)`));
        const rate = Array.from({ length: scores.count }, (_, i) => judge.judge(scores.heads, i)).filter((j) => j.flagged).length / scores.count;
        expect(rate, combine).toBeGreaterThanOrEqual(0.04);
        expect(rate, combine).toBeLessThanOrEqual(0.06);
      }
    } finally {
      await session.scorer.close();
    }
  });

  it('refuses an unknown rule, listing the rules, and writes nothing', async () => {
    const out = join(tmp, 'mean.json');
    const run = await cli(['calibrate', '--model', 'models/fmnist-cnn', '--data', 'test/fixtures/sets/fmnist-eval', '--verdict-combine', 'mean', '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--verdict-combine must be one of fisher, min-p, fisher-guard, cauchy, hmp, fisher-weighted, two-group, got "mean"/);
    expect(() => readFileSync(out)).toThrow();
  });
});
