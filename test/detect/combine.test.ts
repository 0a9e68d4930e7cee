/**
 * The verdict rule's combinations beyond Fisher and min-p (src/detect/combine.ts): each stays
 * calibrated on ID frames only (5 % of calibration frames, 5 % ± 1 % of new ID frames, uniform
 * verdict p-values), the guarded ones are not diluted by heads that say "very typical", the
 * ID-correlation weights give redundant heads one vote between them, and what a rule keeps is
 * stored in the calibration file, checked on load, naming the field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import { saveCalibration, type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { mulberry32 } from '../../src/detect/calibration.js';
import { decorrelatingWeights } from '../../src/detect/combine.js';
import { decodeFloats, encodeFloats, fitVerdictRule, ruleOfFit, type CombineRule, type StoredVerdictRule, type VerdictRule } from '../../src/detect/verdict-rule.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'gaia-combine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Heads = Record<'a' | 'b' | 'c', Float64Array>;

/** Three ID-scores per frame (seeded): a and b share most of their variation, c is its own. */
function frames(n: number, seed: number): Heads {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const h: Heads = { a: new Float64Array(n), b: new Float64Array(n), c: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const shared = normal();
    h.a[i] = shared + 0.3 * normal();
    h.b[i] = 2 * (shared + 0.3 * normal()) - 4;
    h.c[i] = 0.3 * shared + normal();
  }
  return h;
}

function rule(stored: StoredVerdictRule, calib: Heads): VerdictRule {
  return ruleOfFit(stored, calib);
}

const NEW_RULES: CombineRule[] = ['fisher-guard', 'cauchy', 'hmp', 'fisher-weighted'];

describe('the new combinations stay calibrated on ID frames', () => {
  const calib = frames(5000, 11);
  const fresh = frames(20_000, 12);
  for (const combine of NEW_RULES) {
    it(`${combine}: 5% of the calibration frames, 5% ± 1% of new ID frames, uniform verdict p-values`, () => {
      const stored = fitVerdictRule(combine, ['a', 'b', 'c'], calib);
      expect(stored.flagRate).toBeGreaterThan(0.045);
      expect(stored.flagRate).toBeLessThan(0.055);
      const judge = rule(stored, calib);
      let flagged = 0;
      const deciles = new Array<number>(10).fill(0);
      for (let i = 0; i < fresh.a.length; i++) {
        const j = judge.judge(fresh, i);
        if (j.flagged) flagged++;
        deciles[Math.min(9, Math.floor(j.pValue! * 10))]!++;
      }
      expect(flagged / fresh.a.length).toBeGreaterThan(0.04);
      expect(flagged / fresh.a.length).toBeLessThan(0.06);
      for (const d of deciles) expect(Math.abs(d / fresh.a.length - 0.1)).toBeLessThan(0.015);
    });
  }
});

describe('dilution', () => {
  const calib = frames(5000, 21);
  // One head at its 0.3rd percentile ("hardly ever seen"), the other two at their 90th ("very typical").
  const q = (h: keyof Heads, at: number) => Float64Array.from(calib[h]).sort()[Math.floor(at * calib[h].length)]!;
  const frame = { a: [q('a', 0.9)], b: [q('b', 0.9)], c: [q('c', 0.003)] };

  it('fisher lets two typical heads outvote one unusual head; the guarded rules flag the frame', () => {
    const flags = (combine: CombineRule) => rule(fitVerdictRule(combine, ['a', 'b', 'c'], calib), calib).judge(frame, 0).flagged;
    expect(flags('fisher')).toBe(false);
    for (const combine of ['min-p', 'fisher-guard', 'hmp', 'cauchy'] as CombineRule[]) expect(flags(combine), combine).toBe(true);
  });

  it('fisher-weighted gives two heads that move together about one vote between them', () => {
    const stored = fitVerdictRule('fisher-weighted', ['a', 'b', 'c'], calib);
    const [wa, wb, wc] = stored.weights!;
    expect(wa! + wb! + wc!).toBeCloseTo(3, 9);
    expect(wc!).toBeGreaterThan(wa! + wb! - 0.3);
    expect(rule(stored, calib).judge(frame, 0).flagged).toBe(true);
    // Independent heads keep equal weights: plain Fisher.
    const random = mulberry32(5);
    const independent = [0, 1, 2].map(() => Float64Array.from({ length: 20_000 }, () => Math.log(1 - random())));
    for (const w of decorrelatingWeights(independent)) expect(w).toBeCloseTo(1, 1);
  });
});

describe('a fitted combination in a calibration file', () => {
  const shipped = JSON.parse(readFileSync(join('calibration', 'fmnist-cnn.json'), 'utf8')) as CalibrationFile;
  const expected = { model: shipped.model, fingerprint: shipped.fingerprint };
  const n = shipped.data.frames;
  // Three classifier heads the shipped calibration has calibrated (its own rule adds ViM and the input heads).
  const ruleHeads = ['gaia_z', 'energy', 'mahalanobis'];
  // Each head's stored calibration scores (sorted, so not frame by frame: enough to fit and store a rule).
  const calibScores = Object.fromEntries(ruleHeads.map((h) => [h, decodeFloats(shipped.heads[h]!.reference!, 'f32')!]));
  const write = async (name: string, c: unknown) => {
    const path = join(tmp, name);
    await saveCalibration(path, c as CalibrationFile);
    return path;
  };

  for (const combine of NEW_RULES) {
    it(`${combine}: saved and loaded, it judges exactly as the rule fitted`, async () => {
      const verdict = fitVerdictRule(combine, ruleHeads, calibScores);
      const file = { ...shipped, verdict };
      const loaded = await loadCalibration(await write(`${combine}.json`, file), expected);
      const a = judgeOf('fitted', file);
      const b = judgeOf('loaded', loaded);
      expect(b.describe()).toMatch(new RegExp(`^${combine}\\(gaia_z, energy, mahalanobis\\)`));
      const random = mulberry32(3);
      for (let i = 0; i < 200; i++) {
        const raw = { gaia_z: [0.2 + 0.1 * random()], energy: [5 + 10 * random()], mahalanobis: [50 + 400 * random()] };
        expect(b.judge(raw, 0)).toEqual(a.judge(raw, 0));
      }
    });
  }

  it('refuses a rule whose fitted parameters are missing or damaged, naming the field', async () => {
    const weighted = fitVerdictRule('fisher-weighted', ruleHeads, calibScores);
    const guarded = fitVerdictRule('fisher-guard', ruleHeads, calibScores);
    const unsorted = encodeFloats(Float64Array.from({ length: n }, (_, i) => n - i), 'f64');
    const cases: Array<[string, StoredVerdictRule, RegExp]> = [
      ['no weights', { ...weighted, weights: undefined }, /verdict\.weights is not 3 finite weights ≥ 0, one per verdict head/],
      ['negative weight', { ...weighted, weights: [1, -1, 3] }, /verdict\.weights is not 3 finite weights/],
      ['no guard', { ...guarded, guard: undefined }, /verdict\.guard is not \{fisher, minP\}: each \d+ sorted finite float64/],
      ['unsorted guard', { ...guarded, guard: { ...guarded.guard!, minP: unsorted } }, /verdict\.guard is not/],
    ];
    for (const [what, verdict, message] of cases) {
      const err = (await loadCalibration(await write(`${what}.json`, { ...shipped, verdict }), expected).catch((e: unknown) => e)) as GaiaError;
      expect(err.code, what).toBe(ErrorCodes.BAD_CONFIG);
      expect(err.message, what).toMatch(message);
    }
  });
});
