/**
 * Decoded 8-bit pixels (HWC, interleaved) → the model's channels → normalised CHW floats.
 * Used on every frame: after sharp for frames that need resampling, and directly for
 * frames that already have the model's geometry (see png-direct.ts), so the two paths
 * share one definition of the colour conversion and the normalisation.
 */
import type { ModelManifest } from '../model/manifest.js';

/**
 * BT.601 luma as sharp computes it in the resampling path (recomb with float weights,
 * +0.5, then the cast to 8 bits truncates): identical for all 2^24 RGB triples, which
 * test/frames/preprocess.test.ts checks exhaustively against sharp.
 */
const W_R = Math.fround(0.299);
const W_G = Math.fround(0.587);
const W_B = Math.fround(0.114);

export function bt601Luma(r: number, g: number, b: number): number {
  return Math.floor(Math.fround(Math.fround(W_R * r + W_G * g + W_B * b) + 0.5));
}

/**
 * Pixels with 1-4 interleaved channels (grey, grey+alpha, RGB, RGBA) → the model's colour
 * mode: alpha dropped (never composited), colour → BT.601 luma for grey models, grey
 * replicated for RGB models. Returns the input itself when it already matches.
 */
export function toModelChannels(data: Uint8Array, channels: number, mode: 'gray' | 'rgb'): Uint8Array {
  const target = mode === 'gray' ? 1 : 3;
  if (channels === target) return data;
  const area = data.length / channels;
  const out = new Uint8Array(area * target);
  const colour = channels >= 3;
  for (let i = 0, s = 0; i < area; i++, s += channels) {
    if (target === 1) out[i] = colour ? bt601Luma(data[s]!, data[s + 1]!, data[s + 2]!) : data[s]!;
    else if (colour) out.set(data.subarray(s, s + 3), i * 3);
    else out.fill(data[s]!, i * 3, i * 3 + 3);
  }
  return out;
}

/** Interleaved 8-bit pixels in the model's channels → (v·scale − mean)/std, channel-first. */
export function normaliseInto(data: Uint8Array, input: ModelManifest['input'], out: Float32Array): void {
  const channels = input.shape[1];
  const area = input.shape[2] * input.shape[3];
  for (let c = 0; c < channels; c++) {
    const mul = input.scale / input.std[c]!;
    const add = -input.mean[c]! / input.std[c]!;
    for (let i = 0; i < area; i++) out[c * area + i] = data[i * channels + c]! * mul + add;
  }
}
