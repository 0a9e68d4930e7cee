/**
 * The noise-floor input head (docs/DEFINITIONS.md#input-heads): `input_noise`, the 10th
 * percentile of the luminance standard deviation over 2×2 blocks. Checked against what it is
 * defined to be: 0 on a flat frame and on a noiseless scene of flat patches whatever its
 * contrast; on Gaussian noise of standard deviation σ the 10th percentile of a 4-sample
 * standard deviation, σ·√(χ²₃(0.1) / 4) = 0.382σ, growing in proportion to σ; the same on a
 * scene whose edges fill less than a tenth of the blocks. Upper-tailed: only more noise than
 * the calibration frames' is unusual.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { InputReference } from '../../src/detect/input-heads.js';
import { inputStats, noiseFloor } from '../../src/frames/input-stats.js';
import { normals } from '../helpers/normals.js';

/** The 0.1 quantile of χ² with 3 degrees of freedom: a 4-pixel block's variance (about its own mean) in units of σ²/4. */
const CHI2_3_Q10 = 0.5844;
const FLOOR_PER_SIGMA = Math.sqrt(CHI2_3_Q10 / 4);

const W = 256;
const H = 192;

/** A scene of flat patches: 31×31-pixel squares at levels from `low` to `high` (sharp edges, no texture). */
function patches(low: number, high: number): Float32Array {
  const r = mulberry32(7);
  const levels = Array.from({ length: 64 }, () => low + (high - low) * r());
  return Float32Array.from({ length: W * H }, (_, i) => levels[(Math.floor(Math.floor(i / W) / 31) * 9 + Math.floor((i % W) / 31)) % 64]!);
}

/** Adds Gaussian noise of standard deviation `sigma`, rounded to 8-bit levels as a camera delivers it. */
function withNoise(l: Float32Array, sigma: number, seed = 3): Float32Array {
  const z = normals(l.length, mulberry32(seed));
  return Float32Array.from(l, (v, i) => Math.min(255, Math.max(0, Math.round(v + sigma * z[i]!))));
}

describe('noise floor', () => {
  it('is 0 on a flat frame and on a noiseless scene of flat patches, whatever its contrast', () => {
    expect(noiseFloor(new Float32Array(W * H).fill(90), W, H)).toBe(0);
    expect(noiseFloor(patches(100, 140), W, H)).toBe(0);
    expect(noiseFloor(patches(0, 255), W, H)).toBe(0);
  });

  it("is 0.382σ on Gaussian noise, in proportion to σ (the 10th percentile of a 2×2 block's standard deviation)", () => {
    for (const sigma of [4, 10, 25]) {
      const floor = noiseFloor(withNoise(new Float32Array(W * H).fill(128), sigma), W, H);
      // 8-bit rounding adds 1/12 to the variance.
      expect(floor / (FLOOR_PER_SIGMA * Math.sqrt(sigma * sigma + 1 / 12)), `σ = ${sigma}`).toBeGreaterThan(0.96);
      expect(floor / (FLOOR_PER_SIGMA * Math.sqrt(sigma * sigma + 1 / 12)), `σ = ${sigma}`).toBeLessThan(1.04);
    }
  });

  it('reads the noise and not the scene: the same on a high-contrast scene whose edges are few', () => {
    const plain = noiseFloor(withNoise(new Float32Array(W * H).fill(128), 10), W, H);
    // 31-pixel patches: their edges cross about 1/31 of the 2×2 block rows and columns each way, so the flattest tenth is noise alone.
    const scene = noiseFloor(withNoise(patches(20, 235), 10), W, H);
    expect(scene / plain).toBeGreaterThan(0.97);
    expect(scene / plain).toBeLessThan(1.1);
  });

  it('is the quantile a full sort gives, by selection, with ties and odd sizes', () => {
    const r = mulberry32(11);
    for (const [w, h] of [[28, 28], [128, 72], [5, 3], [2, 2], [3, 40], [127, 71]] as const) {
      for (const zeros of [0, 0.5, 0.97]) {
        const l = Float32Array.from({ length: w * h }, () => (r() < zeros ? 0 : Math.floor(256 * r())));
        const bw = w >> 1;
        const bh = h >> 1;
        const v = new Float32Array(bw * bh);
        for (let y = 0; y < bh; y++) {
          for (let x = 0; x < bw; x++) {
            const i = 2 * y * w + 2 * x;
            const q = [l[i]!, l[i + 1]!, l[i + w]!, l[i + w + 1]!];
            const mean = (q[0]! + q[1]! + q[2]! + q[3]!) / 4;
            v[y * bw + x] = ((q[0]! - mean) ** 2 + (q[1]! - mean) ** 2 + (q[2]! - mean) ** 2 + (q[3]! - mean) ** 2) / 4;
          }
        }
        const sorted = Float64Array.from(v, (x) => Math.sqrt(x)).sort();
        const at = 0.1 * (sorted.length - 1);
        const lo = Math.floor(at);
        const hi = Math.min(lo + 1, sorted.length - 1);
        expect(noiseFloor(l, w, h), `${w}×${h}, ${zeros} zeros`).toBeCloseTo(sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!), 9);
      }
    }
  });

  it('is measured with the other input heads, on grey and colour pixels alike', () => {
    const grey = withNoise(new Float32Array(W * H).fill(128), 10);
    const data = Uint8Array.from(grey);
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) rgb.fill(data[i]!, 3 * i, 3 * i + 3);
    const a = inputStats({ data, width: W, height: H, channels: 1 }).values.input_noise;
    const b = inputStats({ data: rgb, width: W, height: H, channels: 3 }).values.input_noise;
    expect(a).toBeCloseTo(noiseFloor(grey, W, H), 4);
    expect(b).toBeCloseTo(a, 3);
    expect(noiseFloor(new Float32Array(1), 1, 1)).toBe(0);
  });

  it('is upper-tailed: only more noise than the calibration frames had is unusual', () => {
    const ref = InputReference.fromValues('input_noise', [0, 0, 0, 0, 0.5, 1, 2]);
    expect(ref.typicality(0)).toBe(1);
    expect(ref.typicality(1)).toBeCloseTo(2 / 7);
    expect(ref.typicality(6)).toBeCloseTo(-2);
  });
});
