/**
 * Model package → ready scorer: compiles the classifier into its scoring graph in memory
 * (milliseconds for a CNN) and opens it on the configured execution providers, in a
 * worker thread so that inference never blocks the event loop.
 */
import { compileScoringGraph, type CompileResult } from '../compile/compiler.js';
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import { DEFAULT_ODIN } from '../compile/heads/odin.js';
import type { Model } from '../onnx/graph.js';
import type { ModelPackage } from './manifest.js';
import { encodeModel, loadModel } from '../onnx/model-io.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { OrtScorerOptions } from '../runtime/ort-scorer.js';
import { WorkerScorer, type WorkerSupervision } from '../runtime/worker-scorer.js';

export interface LoadedScorer {
  readonly scorer: WorkerScorer;
  readonly compiled: CompileResult;
  /** The classifier as loaded (for fingerprinting). */
  readonly model: Model;
}

export async function loadScorer(
  pkg: ModelPackage,
  options: Omit<OrtScorerOptions, 'inputShape'> & { taps: string; heads?: readonly HeadName[]; gaiaZMode?: GaiaZMode; headSettings?: HeadSettings },
  supervision: WorkerSupervision = {},
): Promise<LoadedScorer> {
  const model = await loadModel(pkg.modelPath);
  const compiled = compileScoringGraph(model, {
    taps: options.taps,
    heads: options.heads ?? ['logits', 'gaia_z', 'msp', 'energy'],
    // Pattern mode gives the float mode's scores (test/pattern-parity.test.ts) at a fraction
    // of the backward cost; it falls back to float by itself where it cannot be exact.
    gaiaZMode: options.gaiaZMode ?? 'pattern',
    // ODIN steps ε in pixel units: the package's normalisation std converts it.
    headSettings: { odin: { ...DEFAULT_ODIN, inputStd: pkg.manifest.input.std }, ...options.headSettings },
  });
  const labels = pkg.manifest.labels.length;
  if (labels !== compiled.numClasses) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${pkg.dir}/manifest.json lists ${labels} labels but the model has ${compiled.numClasses} classes; fix "labels"`,
    );
  }
  const { headSettings: _settings, ...runtime } = options;
  const scorer = await WorkerScorer.create(encodeModel(compiled.model), compiled.numClasses, {
    ...runtime,
    inputShape: pkg.manifest.input.shape.slice(1) as number[],
  }, supervision);
  return { scorer, compiled, model };
}
