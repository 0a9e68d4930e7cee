/**
 * calibrate's check that each head of the verdict rule can flag a frame on its own
 * (src/detect/lone-heads.ts): with a few hundred calibration frames no p-value is small enough
 * for one head to carry a combination's threshold; with thousands every head can.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { headsThatCannotFlagAlone } from '../../src/detect/lone-heads.js';
import { fitVerdictRule, type CombineRule } from '../../src/detect/verdict-rule.js';

const HEADS = ['gaia_z', 'mahalanobis', 'vim', 'input_exposure', 'input_contrast', 'input_sharpness', 'input_colourfulness', 'input_flat'];

/** Independent ID-scores per head, as exchangeable calibration frames give. */
function scores(n: number, seed: number): Record<string, Float64Array> {
  const random = mulberry32(seed);
  return Object.fromEntries(HEADS.map((h) => [h, Float64Array.from({ length: n }, () => random())]));
}

describe('heads that cannot flag a frame on their own', () => {
  it.each<CombineRule>(['two-group', 'fisher-guard'])('%s: every head can with 5,000 calibration frames', (combine) => {
    const id = scores(5000, 1);
    expect(headsThatCannotFlagAlone(fitVerdictRule(combine, HEADS, id), 5000)).toEqual([]);
  });

  it('a head constant on the calibration frames (colourfulness of grey frames) can still flag: any change is beyond every calibration frame', () => {
    const id = scores(5000, 4);
    id.input_colourfulness!.fill(1);
    expect(headsThatCannotFlagAlone(fitVerdictRule('two-group', HEADS, id), 5000)).toEqual([]);
  });

  it('two-group with 200 frames: a classifier head alone cannot outweigh its group, and the check says which', () => {
    const id = scores(200, 2);
    const alone = headsThatCannotFlagAlone(fitVerdictRule('two-group', HEADS, id), 200);
    // Fisher over three classifier heads needs ln p below about −7 for its share of the 5 %: p < 1/1000.
    expect(alone).toEqual(['gaia_z', 'mahalanobis', 'vim']);
  });

  it('fisher over eight heads: no single head reaches the threshold, even with 5,000 frames (the dilution the guard is for)', () => {
    const id = scores(5000, 3);
    // ln(1/5000) = −8.5, and Fisher's 5 % point over eight heads is about −12.4.
    expect(headsThatCannotFlagAlone(fitVerdictRule('fisher', HEADS, id), 5000)).toEqual(HEADS);
  });
});
