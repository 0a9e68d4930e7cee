/**
 * The `two-group` combination (src/detect/two-group.ts, combine.ts): Fisher within the
 * classifier heads, min-p within the input heads, the frame as unusual as its more unusual
 * group. It stays calibrated on ID frames only; neither group dilutes the other (a fault seen by
 * one input head alone is flagged however typical the classifier heads are, and a shift every
 * classifier head sees a little is flagged however typical the picture's statistics are); what
 * it keeps survives the calibration file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import { saveCalibration, type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { mulberry32 } from '../../src/detect/calibration.js';
import { groupStatistics, inputMask } from '../../src/detect/two-group.js';
import { combinerOf, decodeFloats, fitVerdictRule, ReferenceScores, VerdictRule, type CombineRule, type StoredVerdictRule } from '../../src/detect/verdict-rule.js';

const tmp = mkdtempSync(join(tmpdir(), 'gaia-two-group-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HEADS = ['gaia_z', 'mahalanobis', 'input_sharpness', 'input_exposure'] as const;
type Frames = Record<(typeof HEADS)[number], Float64Array>;

/** ID-scores per frame (seeded): the two classifier heads share most of their variation, the input heads are their own. */
function frames(n: number, seed: number): Frames {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const f = Object.fromEntries(HEADS.map((h) => [h, new Float64Array(n)])) as Frames;
  for (let i = 0; i < n; i++) {
    const shared = normal();
    f.gaia_z[i] = shared + 0.4 * normal();
    f.mahalanobis[i] = 3 * (shared + 0.4 * normal()) + 10;
    f.input_sharpness[i] = normal();
    f.input_exposure[i] = 0.2 * normal() + 0.5;
  }
  return f;
}

function judgeWith(stored: StoredVerdictRule, calib: Frames): VerdictRule {
  return new VerdictRule(
    combinerOf(JSON.parse(JSON.stringify(stored)) as StoredVerdictRule, calib.gaia_z.length)!,
    stored.heads.map((h) => ({ name: h, sign: 1 as const, reference: ReferenceScores.fromScores(calib[h as keyof Frames]) })),
    stored.threshold,
    stored.flagRate,
    new ReferenceScores(decodeFloats(stored.reference, 'f64')!),
  );
}

describe('two-group', () => {
  const calib = frames(5000, 31);
  const stored = fitVerdictRule('two-group', HEADS, calib);

  it('flags 5% of the calibration frames and 5% ± 1% of new ID frames, with uniform verdict p-values', () => {
    expect(stored.flagRate).toBeGreaterThan(0.045);
    expect(stored.flagRate).toBeLessThan(0.056);
    const fresh = frames(20_000, 32);
    const judge = judgeWith(stored, calib);
    let flagged = 0;
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < fresh.gaia_z.length; i++) {
      const j = judge.judge(fresh, i);
      if (j.flagged) flagged++;
      deciles[Math.min(9, Math.floor(j.pValue! * 10))]!++;
    }
    expect(flagged / fresh.gaia_z.length).toBeGreaterThan(0.04);
    expect(flagged / fresh.gaia_z.length).toBeLessThan(0.06);
    for (const d of deciles) expect(Math.abs(d / fresh.gaia_z.length - 0.1)).toBeLessThan(0.015);
  });

  // A frame's heads at chosen percentiles of the calibration frames.
  const at = (percentiles: Record<keyof Frames, number>) =>
    Object.fromEntries(HEADS.map((h) => [h, [Float64Array.from(calib[h]).sort()[Math.floor(percentiles[h] * calib[h].length)]!]]));
  const flags = (combine: CombineRule, frame: Record<string, number[]>) => judgeWith(fitVerdictRule(combine, HEADS, calib), calib).judge(frame, 0).flagged;

  it('an input head that has hardly ever seen the frame is not outvoted by typical classifier heads', () => {
    const fault = at({ gaia_z: 0.9, mahalanobis: 0.9, input_sharpness: 0.002, input_exposure: 0.6 });
    expect(flags('fisher', fault)).toBe(false);
    expect(flags('two-group', fault)).toBe(true);
  });

  it('classifier heads that are each a little unusual add up, however typical the picture statistics are', () => {
    const shift = at({ gaia_z: 0.02, mahalanobis: 0.02, input_sharpness: 0.5, input_exposure: 0.5 });
    expect(flags('min-p', shift)).toBe(false);
    expect(flags('two-group', shift)).toBe(true);
    expect(flags('two-group', at({ gaia_z: 0.5, mahalanobis: 0.5, input_sharpness: 0.5, input_exposure: 0.5 }))).toBe(false);
  });

  it('groups the heads by their names; a group without heads gives no evidence', () => {
    expect(inputMask(HEADS)).toEqual([false, false, true, true]);
    expect(groupStatistics([0.5, 0.25], [false, false])).toEqual({ classifier: Math.log(0.125), input: 1 });
    expect(groupStatistics([0.5, 0.25], [true, true])).toEqual({ classifier: 0, input: 0.25 });
    // Classifier heads only: the rule is Fisher's, ranked.
    const classifierOnly = fitVerdictRule('two-group', ['gaia_z', 'mahalanobis'], calib);
    const fisher = fitVerdictRule('fisher', ['gaia_z', 'mahalanobis'], calib);
    expect(classifierOnly.flagRate).toBeCloseTo(fisher.flagRate, 3);
  });
});

describe('two-group in a calibration file', () => {
  const shipped = JSON.parse(readFileSync(join('calibration', 'fmnist-cnn.json'), 'utf8')) as CalibrationFile;
  const expected = { model: shipped.model, fingerprint: shipped.fingerprint };
  const ruleHeads = ['gaia_z', 'energy', 'mahalanobis'];
  const calibScores = Object.fromEntries(ruleHeads.map((h) => [h, decodeFloats(shipped.heads[h]!.reference!, 'f32')!]));

  it('saved and loaded, it judges exactly as the rule fitted; a damaged reference is refused naming the field', async () => {
    const verdict = fitVerdictRule('two-group', ruleHeads, calibScores);
    const file = { ...shipped, verdict };
    const path = join(tmp, 'two-group.json');
    await saveCalibration(path, file as CalibrationFile);
    const a = judgeOf('fitted', file as CalibrationFile);
    const b = judgeOf('loaded', await loadCalibration(path, expected));
    expect(b.describe()).toMatch(/^two-group\(gaia_z, energy, mahalanobis\)/);
    const random = mulberry32(7);
    for (let i = 0; i < 200; i++) {
      const raw = { gaia_z: [0.2 + 0.1 * random()], energy: [5 + 10 * random()], mahalanobis: [50 + 400 * random()] };
      expect(b.judge(raw, 0)).toEqual(a.judge(raw, 0));
    }
    const damaged = join(tmp, 'two-group-damaged.json');
    await saveCalibration(damaged, { ...shipped, verdict: { ...verdict, guard: { ...verdict.guard!, minP: 'AAAA' } } } as CalibrationFile);
    await expect(loadCalibration(damaged, expected)).rejects.toThrow(/verdict\.guard is not \{fisher, minP\}/);
  });
});
