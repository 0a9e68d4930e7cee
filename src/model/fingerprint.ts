/**
 * The fingerprint that ties a calibration to the exact scores it was made on: sha256 of
 * the input model's content (every weight, wherever it is stored: raw_data, typed fields
 * or external data files; see onnx/model-digest.ts), the taps the selection resolves to,
 * the preprocessing settings, and the compiler's scoring-semantics version. Moving the
 * weights to `model.onnx.data`, or a compiler release that only renames nodes, keeps
 * calibrations valid; any change to a weight, the taps, the preprocessing or the scoring
 * semantics changes it.
 */
import { createHash } from 'node:crypto';
import { compileScoringGraph } from '../compile/compiler.js';
import type { HeadName } from '../compile/heads.js';
import { SCORING_SEMANTICS_VERSION } from '../compile/semantics.js';
import type { ModelManifest } from './manifest.js';
import type { Model } from '../onnx/graph.js';
import { modelDigest } from '../onnx/model-digest.js';

/**
 * Compiled only to resolve the taps: GAIA-Z's alone. Heads that need more of the model (GAIA-A
 * needs a pooled linear classifier) must not stop a model without it from being fingerprinted,
 * as they once did for every MobileNetV3.
 */
export const FINGERPRINT_HEADS: readonly HeadName[] = ['logits', 'gaia_z'];

/** The fingerprint for a tap selection, resolving it by compiling (when no compile result is at hand). */
export function modelFingerprint(model: Model, taps: string, manifest: ModelManifest): string {
  const compiled = compileScoringGraph(model, { taps, heads: FINGERPRINT_HEADS });
  return fingerprintOf(model, compiled.taps, manifest);
}

/** The fingerprint from taps already resolved by a compile of this model (the scorer's own). */
/** `digest`: the model's weights digest, when the caller has it already (hashing every weight is the costly part). */
export function fingerprintOf(model: Model, taps: ReadonlyArray<{ readonly tensor: string }>, manifest: ModelManifest, digest = modelDigest(model)): string {
  const { input } = manifest;
  const scoring = JSON.stringify({
    format: 'gaia-sentinel/fingerprint@2',
    semantics: SCORING_SEMANTICS_VERSION,
    taps: taps.map((t) => t.tensor),
    preprocessing: {
      shape: input.shape.slice(1),
      channels: input.channels,
      resize: input.resize,
      scale: input.scale,
      mean: input.mean,
      std: input.std,
    },
  });
  return createHash('sha256').update(digest).update(scoring).digest('hex');
}
