/**
 * An input head's reference scores are not stored in the calibration file: loading derives them
 * from the stored raw values. They must be exactly what `calibrate` ranked the calibration
 * frames with (and what files that still carry them hold), or the verdict rule's calibrated
 * threshold would no longer match its p-values.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { judgeOf } from '../../src/calibration/calibration-check.js';
import type { CalibrationFile } from '../../src/calibration/calibration-file.js';
import { calibrateInputHeads, typicalityReference } from '../../src/calibration/input-calibration.js';
import { INPUT_HEADS } from '../../src/contracts/input-stats.js';
import { calibrateHead, mulberry32 } from '../../src/detect/calibration.js';
import { InputReference } from '../../src/detect/input-heads.js';
import { decodeFloats, encodeFloats } from '../../src/detect/verdict-rule.js';

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

  it('judge a file that still carries them exactly as one that does not', () => {
    const path = 'calibration/fmnist-cnn.json';
    const lean = JSON.parse(readFileSync(path, 'utf8')) as CalibrationFile;
    expect(Object.values(lean.inputHeads!).every((h) => h.reference === undefined)).toBe(true);
    // The file as calibrate wrote it before: each input head with its stored reference.
    const carried = structuredClone(lean) as { inputHeads: Record<string, { values: string; reference?: string }> };
    for (const [head, h] of Object.entries(carried.inputHeads)) {
      const ref = new InputReference(head as (typeof INPUT_HEADS)[number], decodeFloats(h.values, 'f32')!);
      h.reference = encodeFloats(ref.calibrationTypicalities(ref.sorted).sort(), 'f32');
    }
    const a = judgeOf(path, lean);
    const b = judgeOf(path, carried as unknown as CalibrationFile);
    // Frames spread over and beyond each head's calibration range.
    const frames = 400;
    const raw: Record<string, Float64Array> = {};
    for (const head of a.heads) {
      const q = (head in lean.heads ? lean.heads[head]! : lean.inputHeads![head]!).quantiles;
      const lo = q.q01!;
      const hi = q.q99!;
      raw[head] = Float64Array.from({ length: frames }, () => lo + (hi - lo) * (1.4 * r() - 0.2));
    }
    if (lean.inputHeads) {
      for (const head of Object.keys(lean.inputHeads)) {
        const v = decodeFloats(lean.inputHeads[head]!.values, 'f32')!;
        raw[head] = Float64Array.from({ length: frames }, () => v[Math.floor(r() * v.length)]! * (0.8 + 0.4 * r()));
      }
    }
    for (let i = 0; i < frames; i++) expect(b.judge(raw, i)).toEqual(a.judge(raw, i));
  });
});
