/**
 * Model package → ready scorer, the one place that opens a model: compiles the classifier
 * into its scoring graph in memory (milliseconds for a CNN), fingerprints it, and opens the
 * graph on the configured execution providers in a worker thread, so that inference never
 * blocks the event loop. The agent, calibrate and eval all open their model here.
 */
import { compileScoringGraph, type CompileResult } from '../compile/compiler.js';
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import { DEFAULT_ODIN } from '../compile/heads/odin.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { encodeModel, loadModel } from '../onnx/model-io.js';
import type { OrtScorerOptions } from '../runtime/ort-scorer.js';
import { WorkerScorer, type WorkerSupervision } from '../runtime/worker-scorer.js';
import { fingerprintOf } from './fingerprint.js';
import type { ModelPackage } from './manifest.js';

export interface OpenModelOptions extends Omit<OrtScorerOptions, 'inputShape'> {
  readonly taps: string;
  /** Heads to compile (default logits, gaia_z, msp, energy). */
  readonly heads?: readonly HeadName[];
  readonly gaiaZMode?: GaiaZMode;
  readonly headSettings?: HeadSettings;
  /**
   * Heads among `heads` that are left out, not fatal, when the model cannot have them (the
   * defaults, not what the user asked for): GAIA-A on a classifier without a pooled linear
   * head, such as MobileNetV3.
   */
  readonly optional?: readonly HeadName[];
}

export interface OpenedModel {
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly compiled: CompileResult;
  /** What calibrations of this model are checked against (model/fingerprint.ts). */
  readonly fingerprint: string;
  /** Optional heads this model cannot have, left out, each with why (say so to the user). */
  readonly omitted: ReadonlyArray<{ readonly head: HeadName; readonly why: string }>;
}

export async function openModel(pkg: ModelPackage, options: OpenModelOptions, supervision: WorkerSupervision = {}): Promise<OpenedModel> {
  const model = await loadModel(pkg.modelPath);
  const heads = options.heads ?? ['logits', 'gaia_z', 'msp', 'energy'];
  const optional = (options.optional ?? []).filter((h) => heads.includes(h));
  const compile = (withHeads: readonly HeadName[]) =>
    compileScoringGraph(model, {
      taps: options.taps,
      heads: withHeads,
      // Pattern mode gives the float mode's scores (test/compile/pattern-parity.test.ts) at a
      // fraction of the backward cost; it falls back to float by itself where it cannot be exact.
      gaiaZMode: options.gaiaZMode ?? 'pattern',
      // ODIN steps ε in pixel units: the package's normalisation std converts it.
      headSettings: { odin: { ...DEFAULT_ODIN, inputStd: pkg.manifest.input.std }, ...options.headSettings },
    });
  const omitted: Array<{ head: HeadName; why: string }> = [];
  let compiled: CompileResult;
  try {
    compiled = compile(heads);
  } catch (err) {
    if (!(isGaiaError(err) && err.code === ErrorCodes.BAD_HEAD && optional.length > 0)) throw err;
    for (const head of optional) omitted.push({ head, why: err.message });
    compiled = compile(heads.filter((h) => !optional.includes(h)));
  }
  const labels = pkg.manifest.labels.length;
  if (labels !== compiled.numClasses) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${pkg.dir}/manifest.json lists ${labels} labels but the model has ${compiled.numClasses} classes; fix "labels"`);
  }
  const { taps: _taps, heads: _heads, gaiaZMode: _mode, headSettings: _settings, optional: _optional, ...runtime } = options;
  const scorer = await WorkerScorer.create(encodeModel(compiled.model), compiled.numClasses, { ...runtime, inputShape: pkg.manifest.input.shape.slice(1) as number[] }, supervision);
  // The compile already resolved the taps: no second compile for the fingerprint.
  return { pkg, scorer, compiled, fingerprint: fingerprintOf(model, compiled.taps, pkg.manifest), omitted };
}
