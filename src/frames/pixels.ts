/**
 * Decoded 8-bit pixels (HWC, interleaved) → the model's channels → normalised CHW floats.
 * Used on every frame: after sharp for frames that need resampling, and directly for
 * frames that already have the model's geometry (see png-direct.ts), so the two paths
 * share one definition of the colour conversion and the normalisation. Also where `cover`
 * with `crop` cuts the frame (coverCrop), which sharp then does.
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

/** cover with crop: the size the frame is scaled to, and the top-left corner of the W x H cut. */
export interface CoverCrop {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
}

/**
 * torchvision's Resize(W / crop) + CenterCrop(W) (timm's crop_pct) in integers: the frame
 * scaled, aspect kept, to cover the box (W / crop) x (H / crop), then its centre W x H.
 * Each rounding is torchvision's, since a pixel's shift is a visible difference at 224.
 */
export function coverCrop(frameWidth: number, frameHeight: number, width: number, height: number, crop: number): CoverCrop {
  // timm: math.floor(img_size / crop_pct); the 1e-9 keeps a crop written as a ratio
  // (299/342) from flooring a whole box side to one pixel less.
  const boxW = Math.floor(width / crop + 1e-9);
  const boxH = Math.floor(height / crop + 1e-9);
  // The binding side gets the box's size, the other int(size * long / short), as torchvision.
  const byWidth = boxW * frameHeight >= boxH * frameWidth;
  const w = byWidth ? boxW : Math.floor((frameWidth * boxH) / frameHeight);
  const h = byWidth ? Math.floor((frameHeight * boxW) / frameWidth) : boxH;
  return { width: w, height: h, left: roundHalfEven((w - width) / 2), top: roundHalfEven((h - height) / 2) };
}

/** Python's round(), which CenterCrop uses: halves go to the even side (58.5 → 58, 115.5 → 116). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
