/**
 * camera.inputStatistics: `auto` measures the input heads (the second decode) only while the
 * loaded calibration's rule names one, and follows a calibration swap at the next frame;
 * without input heads the frozen check gets its hash and sharpness from the model's own
 * tensor. `on` and `off` keep the fixed behaviours. Real calibrate CLI, loader, Judging and
 * decoder on the bundled model.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { inputMeasure } from '../../src/agent/input-measure.js';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import type { HeadName } from '../../src/compile/heads.js';
import { loadConfig } from '../../src/config/load.js';
import { decodeMeasured } from '../../src/frames/frame-decoder.js';
import { Judging } from '../../src/judging/judging.js';
import { openOfflineSession } from '../../src/offline/session.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EVAL = join(ROOT, 'test', 'fixtures', 'sets', 'fmnist-eval', 'images-idx3-ubyte.gz');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-input-measure-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function calibrate(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/gaia-sentinel.js', 'calibrate', ...args], { cwd: ROOT, env: cleanEnv({}), timeout: 120_000 }, (err, _out, stderr) => (err ? reject(new Error(stderr)) : resolve(stderr)));
  });
}

/** The first `n` frames of the committed evaluation set as an IDX set of their own. */
function firstFrames(n: number): string {
  const idx = gunzipSync(readFileSync(EVAL));
  const side = idx.readUInt32BE(8) * idx.readUInt32BE(12);
  const header = Buffer.from(idx.subarray(0, 16));
  header.writeUInt32BE(n, 4);
  const dir = join(tmp, 'calib');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'images-idx3-ubyte'), Buffer.concat([header, idx.subarray(16, 16 + n * side)]));
  return dir;
}

describe('camera.inputStatistics', () => {
  it('auto: tensor fingerprint under a rule without input heads, the second decode from the swap to one with (the withoutInput rule)', async () => {
    const config = loadConfig({ env: {}, overrides: { 'model.dir': 'models/fmnist-cnn', 'runtime.executionProviders': ['cpu'] } });
    expect(config.camera.inputStatistics).toBe('auto');
    const session = await openOfflineSession(config, { heads: ['logits', 'gaia_z', 'energy'] as HeadName[] });
    try {
      const expected = { model: 'fmnist-cnn', fingerprint: session.fingerprint };
      const withInput = 'calibration/fmnist-cnn.json';
      const withoutInput = join(tmp, 'without-input.json'); // the rule before input heads joined the default
      await calibrate(['--model', 'models/fmnist-cnn', '--data', firstFrames(1000), '--methods', 'gaia_z,energy', '--verdict-heads', 'gaia_z,energy', '--out', withoutInput]);
      const judging = new Judging({ labels: session.pkg.manifest.labels, numClasses: session.scorer.numClasses, model: 'fmnist-cnn', fingerprint: session.fingerprint });
      const measure = inputMeasure(config.camera, () => judging.calibration?.judge.heads);
      expect(measure()).toBe('frozen'); // no calibration yet: no verdicts, the frozen check only
      judging.swap({ judge: judgeOf(withoutInput, await loadCalibration(withoutInput, expected)), ref: { path: withoutInput } as never }, 0);
      expect(measure()).toBe('frozen');
      judging.swap({ judge: judgeOf(withInput, await loadCalibration(withInput, expected)), ref: { path: withInput } as never }, 1);
      expect(judging.calibration!.judge.heads).toContain('input_exposure');
      expect(measure()).toBe('full');
      judging.swap({ judge: judgeOf(withoutInput, await loadCalibration(withoutInput, expected)), ref: { path: withoutInput } as never }, 2);
      expect(measure()).toBe('frozen');

      // What each measure hands the judging for one 1080p JPEG.
      const jpeg = await sharp({ create: { width: 1920, height: 1080, channels: 3, background: { r: 90, g: 120, b: 60 } } }).jpeg().toBuffer();
      const headers = { 'content-type': 'image/jpeg' };
      const tensor = new Float32Array(session.pre.elementsPerFrame);
      const full = (await decodeMeasured(session.pre, jpeg, headers, tensor, 'full')).input;
      const frozen = (await decodeMeasured(session.pre, jpeg, headers, tensor, 'frozen')).input;
      const none = (await decodeMeasured(session.pre, jpeg, headers, tensor, 'none')).input;
      expect(full.values.input_exposure).toBeGreaterThan(0.3);
      expect(full.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(Object.values(frozen.values).every(Number.isNaN)).toBe(true); // no evidence for input heads
      expect(frozen.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(Number.isFinite(frozen.sharpness)).toBe(true);
      expect(none.hash).toBe('');
    } finally {
      await session.scorer.close();
    }
  }, 180_000);

  it('the running agent reloads a calibration whose rule adds input heads without a restart (they come from decoding)', async () => {
    const withoutInput = join(tmp, 'agent-without.json');
    const withInput = join(tmp, 'agent-with.json');
    const live = join(tmp, 'agent-live.json');
    const frames = firstFrames(1000);
    await calibrate(['--model', 'models/fmnist-cnn', '--data', frames, '--methods', 'gaia_z,energy', '--verdict-heads', 'gaia_z,energy', '--out', withoutInput]);
    await calibrate(['--model', 'models/fmnist-cnn', '--data', frames, '--methods', 'gaia_z,energy', '--verdict-heads', 'gaia_z,energy,input_exposure,input_flat', '--out', withInput]);
    writeFileSync(live, readFileSync(withoutInput));
    const config = loadConfig({
      env: { GAIA_MODEL_DIR: join(ROOT, 'models', 'fmnist-cnn'), GAIA_CALIBRATION: live, GAIA_REPLAY_DIRS: join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id'), GAIA_REPLAY_FPS: '0', GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0' },
    });
    const agent = await Agent.create(config, { stdout: { write: () => true }, log: pino({ level: 'silent' }) });
    try {
      writeFileSync(live, readFileSync(withInput));
      const outcome = await agent.reloadCalibration();
      expect(outcome.kind, outcome.kind === 'failed' ? outcome.error.message : '').toBe('changed');
      expect(outcome.current!.judge.heads).toEqual(['gaia_z', 'energy', 'input_exposure', 'input_flat']);
    } finally {
      await agent.close();
    }
  }, 180_000);

  it('on and off are fixed; auto without the frozen check measures nothing for a rule without input heads', () => {
    const heads = () => ['gaia_z', 'energy', 'mahalanobis'];
    expect(inputMeasure({ inputStatistics: 'on', frozenFrames: 30 }, heads)()).toBe('full');
    expect(inputMeasure({ inputStatistics: 'off', frozenFrames: 30 }, () => ['gaia_z', 'input_flat'])()).toBe('none');
    expect(inputMeasure({ inputStatistics: 'auto', frozenFrames: 0 }, heads)()).toBe('none');
    expect(inputMeasure({ inputStatistics: 'auto', frozenFrames: 0 }, () => ['gaia_z', 'input_flat'])()).toBe('full');
  });

  it('refuses any other value, naming the three', () => {
    expect(() => loadConfig({ env: { GAIA_CAMERA_INPUT_STATISTICS: 'true' } })).toThrow(/inputStatistics.*auto.*on.*off/s);
  });
});
