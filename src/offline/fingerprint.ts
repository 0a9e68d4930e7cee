/**
 * The fingerprint that ties a calibration to the exact scores it was made on: sha256 of
 * the compiled scoring graph (canonical head set, the configured taps) followed by the
 * preprocessing settings. Any change to the model, the taps, the compiler's output or the
 * preprocessing changes it.
 */
import { createHash } from 'node:crypto';
import { compileScoringGraph } from '../compile/compiler.js';
import type { HeadName } from '../compile/heads.js';
import type { ModelManifest } from '../frames/manifest.js';
import type { Model } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model-io.js';

export const FINGERPRINT_HEADS: readonly HeadName[] = ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy'];

export function modelFingerprint(model: Model, taps: string, manifest: ModelManifest): string {
  const compiled = encodeModel(compileScoringGraph(model, { taps, heads: FINGERPRINT_HEADS }).model);
  const { input } = manifest;
  const preprocessing = JSON.stringify({
    shape: input.shape.slice(1),
    channels: input.channels,
    resize: input.resize,
    scale: input.scale,
    mean: input.mean,
    std: input.std,
  });
  return createHash('sha256').update(compiled).update(preprocessing).digest('hex');
}
