/**
 * A classifier without a "global pool → flatten → linear" head (MobileNetV3: the classifier
 * is Linear → HardSwish → Linear) can have no GAIA-A, and that must cost GAIA-A only: the
 * agent starts and scores on it (its calibration fingerprint once compiled GAIA-A and
 * refused the model), and calibrate and eval leave the default GAIA-A out with a note
 * instead of failing. Asking for gaia_a explicitly still fails, naming the node.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { evalCommand } from '../../src/cli/eval.js';
import { loadConfig } from '../../src/config/load.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import { capture } from '../helpers/capture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'test', 'fixtures', 'zoo', 'mobilenet_v3_small_w025', 'torchscript', 'model.onnx');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-mobilenet-'));
const pkg = join(tmp, 'mobilenet');
const frames = join(tmp, 'frames');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(pkg);
  copyFileSync(MODEL, join(pkg, 'model.onnx'));
  writeFileSync(
    join(pkg, 'manifest.json'),
    JSON.stringify({
      name: 'mobilenet-v3-small-test',
      input: { name: 'input', shape: [null, 3, 32, 32], channels: 'rgb', resize: { mode: 'fill', width: 32, height: 32 }, scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      output: { name: '401', kind: 'logits' },
      labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
    }),
  );
  mkdirSync(frames);
  for (const n of readdirSync(join(SAMPLES, 'id')).sort().slice(0, 32)) copyFileSync(join(SAMPLES, 'id', n), join(frames, n));
});

describe('a MobileNetV3 (no pooled linear head)', () => {
  it('the agent starts and scores a replay on it', async () => {
    const config = loadConfig({ env: { GAIA_MODEL_DIR: pkg, GAIA_REPLAY_DIRS: frames, GAIA_REPLAY_FPS: '0', GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0' } });
    const out: string[] = [];
    const agent = await Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }) });
    const stats = await agent.run();
    expect(stats.scored).toBe(32);
    expect(out.join('')).toContain('no calibration found: scores only');
  });

  it('calibrate leaves the default GAIA-A out with a note; eval too; the agent then judges with the calibration', async () => {
    const calibration = join(tmp, 'mobilenet.json');
    const cal = capture();
    await calibrateCommand(['--model', pkg, '--data', frames, '--out', calibration, '--min-frames', '20'], cal.io);
    expect(cal.stderr).toMatch(/note: gaia_a left out: .*global pool → flatten → linear.*HardSwish/);
    expect(cal.stdout).toMatch(/calibrated mobilenet-v3-small-test on 32 frames/);
    // Random weights: the logits barely move between frames, so energy cannot rank them and
    // the default rule leaves it out (test/calibration/gaia-z-uninformative.test.ts).
    expect(cal.stderr).toMatch(/warning: energy is near constant on the 32 calibration frames .* The verdict rule leaves it out\./);
    const ev = capture();
    await evalCommand(['--model', pkg, '--id', frames, '--ood', join(SAMPLES, 'ood'), '--calibration', calibration, '--out-dir', join(tmp, 'reports')], ev.io);
    expect(ev.stderr).toMatch(/note: gaia_a left out/);
    const config = loadConfig({ env: { GAIA_MODEL_DIR: pkg, GAIA_CALIBRATION: calibration, GAIA_REPLAY_DIRS: frames, GAIA_REPLAY_FPS: '0', GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0' } });
    const out: string[] = [];
    const agent = await Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }) });
    expect((await agent.run()).scored).toBe(32);
    // The default rule without energy: GAIA-Z and the input heads the frames measure.
    expect(out.join("")).toMatch(/verdicts: two-group\(gaia_z, input_exposure, /);
  }, 60_000);

  it('asking for gaia_a explicitly still fails, naming the node', async () => {
    const err = await calibrateCommand(['--model', pkg, '--data', frames, '--out', join(tmp, 'x.json'), '--methods', 'gaia_z,gaia_a', '--min-frames', '20'], capture().io).catch((e: unknown) => e);
    expect((err as GaiaError).code).toBe(ErrorCodes.BAD_HEAD);
    expect((err as GaiaError).message).toContain('HardSwish');
  });
});
