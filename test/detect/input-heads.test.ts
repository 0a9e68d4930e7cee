/**
 * Input heads on a 1080p camera, end to end with real components: `calibrate` on 200 JPEG
 * frames of a synthetic camera (random crops of OpenCV's sample photographs) stores the input
 * heads and a verdict rule that combines them with GAIA-Z and Energy; on 200 held-out frames
 * of the same camera each input head's p-value is below 0.05 about 5% of the time and the rule
 * flags about 5%; black, white, capped, half-covered, defocused and noisy frames are flagged with the
 * input head that sees the fault below 0.05, and their verdict records name it (inputFault).
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { loadConfig } from '../../src/config/load.js';
import type { InputStats } from '../../src/contracts/input-stats.js';
import type { SourceMessage } from '../../src/contracts/stream.js';
import { InputReference } from '../../src/detect/input-heads.js';
import { decodeMeasured } from '../../src/frames/frame-decoder.js';
import { openFrameSet } from '../../src/frames/frame-set.js';
import { Judging } from '../../src/judging/judging.js';
import { scoreSet } from '../../src/offline/score-set.js';
import { openOfflineSession } from '../../src/offline/session.js';
import { CAMERA_FAULTS, cameraFrames, faultFrame, hasCameraPhotos, type CameraFault } from '../helpers/camera-fault-frames.js';
import { capture } from '../helpers/capture.js';

const INPUT = ['input_exposure', 'input_contrast', 'input_sharpness', 'input_detail', 'input_octave', 'input_noise', 'input_colourfulness', 'input_flat', 'input_complexity'];
const RULE_HEADS = ['gaia_z', 'energy', ...INPUT];

/** The head that must see each fault. */
const SEEN_BY: Record<CameraFault, string[]> = {
  black: ['input_exposure', 'input_flat'],
  white: ['input_exposure', 'input_flat'],
  capped: ['input_exposure', 'input_flat'],
  'half-covered': ['input_flat'],
  defocused: ['input_sharpness', 'input_detail', 'input_octave'],
  // At 1080p the measured copy's shrink (15×) averages sensor noise below the scene's own floor,
  // so input_noise does not see it there; the encoder does: noise costs bytes.
  noisy: ['input_complexity'],
};

describe('typicality', () => {
  it('is two-sided, or upper only for the flat share and the noise floor, and leaves a calibration frame out of its own', () => {
    const exposure = InputReference.fromValues('input_exposure', [0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(exposure.typicality(0.3)).toBeCloseTo(3 / 5);
    // Past the calibration's range: below its own extremes, the further the lower.
    expect(exposure.typicality(0)).toBeCloseTo(-0.25);
    expect(exposure.typicality(1)).toBeCloseTo(-1.25);
    expect(exposure.typicality(0.1, true)).toBeCloseTo(-0.25);
    expect(exposure.typicality(0.3, true)).toBeCloseTo(2 / 4);
    expect(exposure.typicality(Number.NaN)).toBe(1);
    const flat = InputReference.fromValues('input_flat', [0, 0, 0.1, 0.2, 0.3]);
    expect(flat.typicality(0)).toBe(1);
    expect(flat.typicality(0.9)).toBeCloseTo(-2);
  });
});

describe.skipIf(!hasCameraPhotos())('input heads on a 1080p camera (opencv-doc photographs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-input-heads-'));
  const out = join(dir, 'calibration.json');
  const model = 'models/fmnist-cnn';
  let heldOut: Buffer[] = [];

  beforeAll(async () => {
    mkdirSync(join(dir, 'calib'));
    (await cameraFrames(600, 1)).forEach((b, k) => writeFileSync(join(dir, 'calib', `${String(k).padStart(4, '0')}.jpg`), b));
    heldOut = await cameraFrames(200, 2);
    mkdirSync(join(dir, 'held-out'));
    heldOut.forEach((b, k) => writeFileSync(join(dir, 'held-out', `${String(k).padStart(4, '0')}.jpg`), b));
    const io = capture();
    await calibrateCommand(['--model', model, '--data', join(dir, 'calib'), '--out', out, '--verdict-heads', RULE_HEADS.join(','), '--json'], io.io);
  }, 240_000);

  it('keeps held-out frames at about 5% and flags every fault with the head that sees it', async () => {
    const config = loadConfig({ env: {}, overrides: { 'model.dir': model, 'runtime.executionProviders': ['cpu'] } });
    const session = await openOfflineSession(config, { heads: ['logits', 'gaia_z', 'msp', 'energy'] });
    try {
      const calibration = await loadCalibration(out, { model: 'fmnist-cnn', fingerprint: session.fingerprint });
      expect(Object.keys(calibration.inputHeads ?? {}).sort()).toEqual([...INPUT].sort());
      const judge = judgeOf(out, calibration);
      expect(judge.heads).toEqual(RULE_HEADS);

      // Held-out frames of the same camera: each input head below 0.05 on about 5%, the rule flags about 5%.
      const scores = await scoreSet(await openFrameSet(join(dir, 'held-out')), session.pre, session.scorer, { batch: 32, onBadFrame: 'stop' });
      const verdicts = Array.from({ length: scores.count }, (_, i) => judge.judge({ ...scores.heads, ...scores.inputs }, i));
      for (const h of INPUT) {
        const below = verdicts.filter((v) => v.pValues![h]! < 0.05).length / scores.count;
        expect(below, h).toBeLessThanOrEqual(0.1);
      }
      const rate = verdicts.filter((v) => v.flagged).length / scores.count;
      expect(rate).toBeGreaterThanOrEqual(0.015);
      expect(rate).toBeLessThanOrEqual(0.09);

      // Faults, through the agent's decode stage and judging stage.
      const judging = new Judging({ model: 'fmnist-cnn', fingerprint: session.fingerprint, labels: session.pkg.manifest.labels, numClasses: session.scorer.numClasses, calibration: { judge, ref: { digest: 'test', createdAt: calibration.createdAt } } });
      for (const fault of CAMERA_FAULTS) {
        const frames = await Promise.all([0, 1, 2].map((k) => faultFrame(fault, 100 + k)));
        const tensor = new Float32Array(frames.length * session.pre.elementsPerFrame);
        const inputs: InputStats[] = [];
        for (const [k, f] of frames.entries()) {
          const slot = tensor.subarray(k * session.pre.elementsPerFrame, (k + 1) * session.pre.elementsPerFrame);
          inputs.push((await decodeMeasured(session.pre, f, { 'content-type': 'image/jpeg' }, slot)).input);
        }
        const batch = await session.scorer.score(tensor, frames.length);
        const messages: SourceMessage[] = frames.map((f, k) => ({ source: 'camera-7', frameId: `${fault}-${k}`, value: f, headers: {}, origin: {} }));
        const { records } = judging.judge(messages, batch, Date.now(), inputs);
        for (const r of records) {
          expect(r.flagged, `${fault}: ${JSON.stringify(r.pValues)}`).toBe(true);
          const seen = SEEN_BY[fault].map((h) => r.pValues![h]!);
          expect(Math.min(...seen), `${fault}: ${JSON.stringify(r.pValues)}`).toBeLessThan(0.05);
          expect(r.inputFault, fault).toMatch(new RegExp(SEEN_BY[fault].join('|')));
        }
      }
    } finally {
      await session.scorer.close();
    }
  }, 240_000);
});
