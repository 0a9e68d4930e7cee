/**
 * Model package → ready scorer: compiles the classifier into its scoring graph in memory
 * (milliseconds for a CNN) and opens it on the configured execution providers.
 */
import { compileScoringGraph, type CompileResult } from '../compile/compiler.js';
import type { ModelPackage } from '../frames/manifest.js';
import { encodeModel, loadModel } from '../onnx/model-io.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { OrtScorer, type OrtScorerOptions } from './ort-scorer.js';

export interface LoadedScorer {
  readonly scorer: OrtScorer;
  readonly compiled: CompileResult;
}

export async function loadScorer(
  pkg: ModelPackage,
  options: Omit<OrtScorerOptions, 'inputShape'> & { taps: string },
): Promise<LoadedScorer> {
  const compiled = compileScoringGraph(await loadModel(pkg.modelPath), {
    taps: options.taps,
    heads: ['logits', 'gaia_z', 'msp', 'energy'],
  });
  const labels = pkg.manifest.labels.length;
  if (labels !== compiled.numClasses) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `${pkg.dir}/manifest.json lists ${labels} labels but the model has ${compiled.numClasses} classes; fix "labels"`,
    );
  }
  const scorer = await OrtScorer.create(encodeModel(compiled.model), compiled.numClasses, {
    ...options,
    inputShape: pkg.manifest.input.shape.slice(1) as number[],
  });
  return { scorer, compiled };
}
