/**
 * The verdict rule (src/detect/verdict-rule.ts): conformal p-values per head, their
 * combination, a threshold fitted on calibration frames only whose flag rate holds on new
 * ID frames, and its storage in the calibration file under the model fingerprint.
 */
import { DEFAULT_VERDICT_COMBINE, DEFAULT_VERDICT_HEADS } from '../../src/cli/calibrate.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { combinePValues, decodeFloats, fitVerdictRule, ReferenceScores, VerdictRule, type CombineRule } from '../../src/detect/verdict-rule.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import { saveCalibration, type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';

const tmp = mkdtempSync(join(tmpdir(), 'gaia-verdict-rule-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Two correlated ID-scores per frame (seeded): heads that agree in part, as real ones do. */
function frames(n: number, seed: number): { a: Float64Array; b: Float64Array } {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const shared = normal();
    a[i] = shared + 0.5 * normal();
    b[i] = 3 * (0.6 * shared + normal()) + 10; // another scale and offset: p-values make them comparable
  }
  return { a, b };
}

function rule(stored: ReturnType<typeof fitVerdictRule>, calib: { a: Float64Array; b: Float64Array }): VerdictRule {
  return new VerdictRule(
    stored.combine,
    [
      { name: 'a', sign: 1, reference: ReferenceScores.fromScores(calib.a) },
      { name: 'b', sign: 1, reference: ReferenceScores.fromScores(calib.b) },
    ],
    stored.threshold,
    stored.flagRate,
    new ReferenceScores(decodeFloats(stored.reference, 'f64')!),
  );
}

describe('ReferenceScores', () => {
  it('gives the conformal p-value (1 + #{reference ≤ s}) / (n + 1), ties counted as at or below', () => {
    const ref = ReferenceScores.fromScores([3, 1, 2, 2]);
    expect(ref.pValue(0)).toBeCloseTo(1 / 5, 12);
    expect(ref.pValue(2)).toBeCloseTo(4 / 5, 12);
    expect(ref.pValue(9)).toBe(1);
    expect(ref.pValue(Number.NaN)).toBeCloseTo(1 / 5, 12); // a broken score: the smallest p-value, never NaN in a record
  });
});

describe('fitVerdictRule', () => {
  for (const combine of ['fisher', 'min-p'] as CombineRule[]) {
    it(`${combine}: flags 5% of the calibration frames and 5% ± 1% of new ID frames, with uniform p-values`, () => {
      const calib = frames(5000, 1);
      const stored = fitVerdictRule(combine, ['a', 'b'], calib);
      expect(stored.flagRate).toBeGreaterThan(0.045);
      expect(stored.flagRate).toBeLessThan(0.055);
      const judge = rule(stored, calib);
      const fresh = frames(20_000, 2);
      const raw = { a: fresh.a, b: fresh.b };
      let flagged = 0;
      const deciles = new Array<number>(10).fill(0);
      const referenceA = ReferenceScores.fromScores(calib.a);
      for (let i = 0; i < fresh.a.length; i++) {
        const j = judge.judge(raw, i);
        if (j.flagged) flagged++;
        deciles[Math.min(9, Math.floor(j.pValue! * 10))]!++;
        expect(j.pValues!.a).toBe(referenceA.pValue(fresh.a[i]!));
      }
      expect(flagged / fresh.a.length).toBeGreaterThan(0.04);
      expect(flagged / fresh.a.length).toBeLessThan(0.06);
      for (const d of deciles) expect(Math.abs(d / fresh.a.length - 0.1)).toBeLessThan(0.015);
    });
  }

  it('fisher adds up two heads that are each a little unusual; min-p waits for one to be very unusual', () => {
    // p = 0.06 twice: neither alone is under 5%, together they are unusual.
    expect(combinePValues('fisher', [0.06, 0.06])).toBeLessThan(combinePValues('fisher', [0.01, 1]));
    expect(combinePValues('min-p', [0.06, 0.06])).toBeGreaterThan(combinePValues('min-p', [0.01, 1]));
  });

  it('flags a frame whose head score is NaN, with valid p-values (no NaN in the record)', () => {
    const calib = frames(1000, 3);
    const judge = rule(fitVerdictRule('fisher', ['a', 'b'], calib), calib);
    const j = judge.judge({ a: [Number.NaN], b: [10] }, 0);
    expect(j.flagged).toBe(true);
    expect(j.pValues!.a).toBeCloseTo(1 / 1001, 12);
    expect(Number.isFinite(j.pValue!) && j.pValue! > 0).toBe(true);
  });

  it('refuses no heads, or heads scored on different frames', () => {
    expect(() => fitVerdictRule('fisher', [], {})).toThrow(/at least one head/);
    expect(() => fitVerdictRule('fisher', ['a', 'b'], { a: [1, 2, 3], b: [1, 2] })).toThrow(/head b: 2 calibration scores, expected 3/);
  });
});

describe('the verdict rule in a calibration file', () => {
  const shipped = JSON.parse(readFileSync(join('calibration', 'fmnist-cnn.json'), 'utf8')) as CalibrationFile;
  const expected = { model: shipped.model, fingerprint: shipped.fingerprint };

  it('round-trips: saved and loaded under its fingerprint, it judges exactly as the one written', async () => {
    expect(shipped.verdict).toMatchObject({ combine: DEFAULT_VERDICT_COMBINE, heads: [...DEFAULT_VERDICT_HEADS] });
    const path = join(tmp, 'roundtrip.json');
    await saveCalibration(path, shipped);
    const loaded = await loadCalibration(path, expected);
    const a = judgeOf('shipped', shipped);
    const b = judgeOf(path, loaded);
    const random = mulberry32(7);
    for (let i = 0; i < 200; i++) {
      const raw = {
        gaia_z: [0.2 + 0.1 * random()],
        energy: [5 + 10 * random()],
        mahalanobis: [50 + 400 * random()],
        vim: [-10 * random()],
        input_exposure: [random()],
        input_contrast: [0.5 * random()],
        input_sharpness: [3000 * random()],
        input_noise: [random() < 0.9 ? 0 : 3 * random()],
        input_colourfulness: [random() < 0.9 ? 0 : 20 * random()],
        input_flat: [random()],
      };
      expect(b.judge(raw, 0)).toEqual(a.judge(raw, 0));
    }
    expect(b.describe()).toBe(a.describe());
  });

  it('is refused for another model (fingerprint), and when a stored number is damaged, naming the field', async () => {
    const write = async (name: string, c: unknown) => {
      const path = join(tmp, name);
      await saveCalibration(path, c as CalibrationFile);
      return path;
    };
    const foreign = await write('foreign.json', { ...shipped, fingerprint: 'f'.repeat(64) });
    expect(((await loadCalibration(foreign, expected).catch((e: unknown) => e)) as GaiaError).code).toBe(ErrorCodes.CALIBRATION_MISMATCH);
    const cases: Array<[string, unknown, RegExp]> = [
      ['truncated reference', { ...shipped, verdict: { ...shipped.verdict!, reference: shipped.verdict!.reference.slice(0, 400) } }, /verdict\.reference is not \d+ sorted finite float64/],
      ['unknown combination', { ...shipped, verdict: { ...shipped.verdict!, combine: 'mean' } }, /verdict\.combine is not one of fisher, min-p/],
      ['uncalibrated head', { ...shipped, verdict: { ...shipped.verdict!, heads: ['gaia_z', 'odin'] } }, /verdict\.heads is not heads calibrated in the file \(odin is not\)/],
      ['head without reference', { ...shipped, heads: { ...shipped.heads, mahalanobis: { ...shipped.heads.mahalanobis!, reference: undefined } } }, /heads\.mahalanobis\.reference is not present/],
      ['p0 of 0', { ...shipped, verdict: { ...shipped.verdict!, flagRate: 0 } }, /verdict\.flagRate is not a number strictly between 0 and 1/],
    ];
    for (const [what, c, message] of cases) {
      const err = (await loadCalibration(await write(`${what}.json`, c), expected).catch((e: unknown) => e)) as GaiaError;
      expect(err.code, what).toBe(ErrorCodes.BAD_CONFIG);
      expect(err.message, what).toMatch(message);
    }
  });
});
