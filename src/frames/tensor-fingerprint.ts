/**
 * What the frozen-frame check needs (a difference hash and a sharpness) taken from the
 * model's own input tensor, so that a rule without input heads costs no second decode
 * (camera.inputStatistics auto, docs/CONFIG.md). The input heads' values stay NaN: a frame
 * measured this way gives them no evidence. The tensor is channel-first and normalised; the
 * hash compares neighbouring cells and the frozen check compares sharpness relatively, so
 * neither cares about the normalisation's scale or offset.
 */
import type { InputStats } from '../contracts/input-stats.js';
import { differenceHash, laplacianVariance } from './input-stats.js';
import { UNMEASURED } from './measure-frame.js';

/** The frame's dHash and Laplacian variance, over the mean of the tensor's channels. */
export function tensorFingerprint(tensor: Float32Array, channels: number, height: number, width: number): InputStats {
  const plane = width * height;
  if (tensor.length !== channels * plane || plane === 0) return UNMEASURED;
  let luma: Float32Array;
  if (channels === 1) luma = tensor;
  else {
    luma = new Float32Array(plane);
    for (let c = 0; c < channels; c++) for (let i = 0; i < plane; i++) luma[i]! += tensor[c * plane + i]! / channels;
  }
  return { values: UNMEASURED.values, hash: differenceHash(luma, width, height), sharpness: laplacianVariance(luma, width, height) };
}
