/**
 * An input head's reference scores are not stored in the calibration file: loading derives them
 * from the stored raw values. They must be exactly what `calibrate` ranked the calibration
 * frames with (and what files that still carry them hold), or the verdict rule's calibrated
 * threshold would no longer match its p-values.
 */
import { describe, expect, it } from 'vitest';
import { calibrateInputHeads, typicalityReference } from '../../src/calibration/input-calibration.js';
import { INPUT_HEADS } from '../../src/contracts/input-stats.js';
import { calibrateHead, mulberry32 } from '../../src/detect/calibration.js';
import { InputReference } from '../../src/detect/input-heads.js';
import { decodeFloats } from '../../src/detect/verdict-rule.js';

describe('input head references', () => {
  const r = mulberry32(3);
  const n = 2000;
  // Ties as real statistics have them (a flat share is often exactly 0), and a constant head.
  const raw: Record<string, Float64Array> = {
    input_exposure: Float64Array.from({ length: n }, () => r()),
    input_flat: Float64Array.from({ length: n }, () => (r() < 0.7 ? 0 : Math.floor(16 * r()) / 16)),
    input_detail: Float64Array.from({ length: n }, () => Math.exp(r())),
    input_colourfulness: new Float64Array(n),
  };

  it('are left out of the file and derived, bit for bit, from the raw values', () => {
    const cal = calibrateInputHeads(raw, { bootstrapSamples: 10, seed: 1, histogramBins: 10 });
    for (const head of Object.keys(raw)) {
      const stored = cal.stored[head]!;
      expect(stored.reference, head).toBeUndefined();
      const ref = new InputReference(head as (typeof INPUT_HEADS)[number], decodeFloats(stored.values, 'f32')!);
      const asCalibrateRanked = decodeFloats(calibrateHead(cal.idScores[head]!, 1, { bootstrapSamples: 10, seed: 1, histogramBins: 10 }).reference!, 'f32')!;
      expect(Array.from(typicalityReference(ref)), head).toEqual(Array.from(asCalibrateRanked));
    }
  });
});
