/**
 * The spectral-shape input heads (docs/DEFINITIONS.md#input-heads): `input_detail` (the
 * Laplacian's variance over the mean squared gradient) and `input_octave` (the Laplacian's
 * variance over that of the 2×2-averaged frame). Checked against what they are defined to be:
 * white noise gives 5 and 4, neither moves with contrast or brightness, blur lowers both, and a
 * frame without detail gives 0.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { detailRatio, inputStats, octaveRatio } from '../../src/frames/input-stats.js';

function noise(w: number, h: number, seed = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: w * h }, () => 128 + 40 * (r() - 0.5));
}

/** The binomial 3×3 blur ([1, 2, 1] / 4 each way), a small defocus, with clamped edges. */
function blur(l: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(l.length);
  const k = [1, 2, 1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) s += k[dy + 1]! * k[dx + 1]! * l[Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))]!;
      }
      out[y * w + x] = s / 16;
    }
  }
  return out;
}

describe('spectral-shape statistics', () => {
  const w = 128;
  const h = 96;
  const white = noise(w, h);

  it('give 5 (detail) and 4 (octave) on white noise', () => {
    expect(detailRatio(white, w, h)).toBeGreaterThan(4.7);
    expect(detailRatio(white, w, h)).toBeLessThan(5.3);
    expect(octaveRatio(white, w, h)).toBeGreaterThan(3.7);
    expect(octaveRatio(white, w, h)).toBeLessThan(4.3);
  });

  it('do not move with contrast or brightness', () => {
    const dim = Float32Array.from(white, (v) => 0.25 * v + 17);
    expect(detailRatio(dim, w, h) / detailRatio(white, w, h)).toBeCloseTo(1, 5);
    expect(octaveRatio(dim, w, h) / octaveRatio(white, w, h)).toBeCloseTo(1, 5);
  });

  it('fall when the frame is blurred, the more the more it is', () => {
    const once = blur(white, w, h);
    const twice = blur(once, w, h);
    expect(detailRatio(once, w, h)).toBeLessThan(0.5 * detailRatio(white, w, h));
    expect(detailRatio(twice, w, h)).toBeLessThan(detailRatio(once, w, h));
    expect(octaveRatio(once, w, h)).toBeLessThan(0.5 * octaveRatio(white, w, h));
    expect(octaveRatio(twice, w, h)).toBeLessThan(octaveRatio(once, w, h));
  });

  it('are 0 for a frame without detail or too small to measure', () => {
    const flat = new Float32Array(w * h).fill(90);
    expect(detailRatio(flat, w, h)).toBe(0);
    expect(octaveRatio(flat, w, h)).toBe(0);
    expect(octaveRatio(noise(5, 5), 5, 5)).toBe(0);
  });

  it('are what inputStats reports for a frame, on its luminance', () => {
    const r = mulberry32(7);
    const data = Uint8Array.from({ length: 40 * 30 * 3 }, () => Math.floor(256 * r()));
    const s = inputStats({ data, width: 40, height: 30, channels: 3 });
    const luma = Float32Array.from({ length: 40 * 30 }, (_, i) => 0.299 * data[3 * i]! + 0.587 * data[3 * i + 1]! + 0.114 * data[3 * i + 2]!);
    expect(s.values.input_detail).toBeCloseTo(detailRatio(luma, 40, 30), 10);
    expect(s.values.input_octave).toBeCloseTo(octaveRatio(luma, 40, 30), 10);
  });
});
