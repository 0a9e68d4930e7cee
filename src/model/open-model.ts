/**
 * Model package → ready scorer, the one place that opens a model: checks the manifest
 * against the graph, reuses the package's compiled scoring graph when it was compiled for
 * exactly this request (scoring-cache.ts) or compiles the classifier in memory, fingerprints
 * it, and opens the graph on the configured execution providers in a worker thread, so that
 * inference never blocks the event loop. The agent, calibrate and eval open their model here.
 */
import { join } from 'node:path';
import { compileScoringGraph, type CompileResult } from '../compile/compiler.js';
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import { DEFAULT_ODIN } from '../compile/heads/odin.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import { encodeModel, loadModel } from '../onnx/model-io.js';
import type { OrtScorerOptions } from '../runtime/ort-scorer.js';
import { WorkerScorer, type WorkerSupervision } from '../runtime/worker-scorer.js';
import { fingerprintOf } from './fingerprint.js';
import { checkManifestAgainstGraph } from './graph-check.js';
import type { ModelPackage } from './manifest.js';
import { cachedGraph, compileRequest, keepGraph, type CompiledSummary } from './scoring-cache.js';

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
  /**
   * Keep a newly compiled graph in the package for the next start: true (init: failing to
   * write fails), 'if-writable' (the agent: a read-only package just compiles at every start).
   */
  readonly keep?: boolean | 'if-writable';
}

export interface OpenedModel {
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly compiled: CompiledSummary;
  /** Where the scoring graph came from: the package's (compiled for this request before), or compiled now, and why. */
  readonly graph: { readonly source: 'package' | 'compiled'; readonly why?: string };
  /** What calibrations of this model are checked against (model/fingerprint.ts). */
  readonly fingerprint: string;
  /** Optional heads this model cannot have, left out, each with why (say so to the user). */
  readonly omitted: ReadonlyArray<{ readonly head: HeadName; readonly why: string }>;
}

export async function openModel(pkg: ModelPackage, options: OpenModelOptions, supervision: WorkerSupervision = {}): Promise<OpenedModel> {
  const model = await loadModel(pkg.modelPath);
  checkManifestAgainstGraph(pkg.manifest, model, { manifest: join(pkg.dir, 'manifest.json'), model: pkg.modelPath });
  const heads = options.heads ?? ['logits', 'gaia_z', 'msp', 'energy'];
  const gaiaZMode = options.gaiaZMode ?? 'pattern';
  // ODIN steps ε in pixel units: the package's normalisation std converts it.
  const headSettings: HeadSettings = { odin: { ...DEFAULT_ODIN, inputStd: pkg.manifest.input.std }, ...options.headSettings };
  const request = compileRequest(model, pkg.manifest, { taps: options.taps, heads, gaiaZMode, headSettings });
  const cached = await cachedGraph(pkg.dir, request);
  let bytes: Uint8Array;
  let compiled: CompiledSummary;
  let omitted: Array<{ head: HeadName; why: string }> = [];
  if (cached && 'bytes' in cached) ({ bytes, compiled } = { bytes: cached.bytes, compiled: cached.summary });
  else {
    const built = compileWithOptional(model, heads, options.optional ?? [], { taps: options.taps, gaiaZMode, headSettings });
    ({ omitted } = built);
    compiled = built.result;
    bytes = encodeModel(built.result.model);
    // Kept only for the full request: a graph without an optional head is compiled again next time.
    if (options.keep && omitted.length === 0) {
      await keepGraph(pkg.dir, request, built.result, bytes).catch((err: unknown) => {
        if (options.keep === true) throw new GaiaError(ErrorCodes.IO, `cannot write the scoring graph into ${pkg.dir}: ${(err as Error).message}`, { cause: err });
      });
    }
  }
  const labels = pkg.manifest.labels.length;
  if (labels !== compiled.numClasses) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${pkg.dir}/manifest.json lists ${labels} labels but the model has ${compiled.numClasses} classes; fix "labels"`);
  }
  const { taps: _t, heads: _h, gaiaZMode: _m, headSettings: _s, optional: _o, keep: _k, ...runtime } = options;
  const scorer = await WorkerScorer.create(bytes, compiled.numClasses, { ...runtime, inputShape: pkg.manifest.input.shape.slice(1) as number[] }, supervision);
  return {
    pkg,
    scorer,
    compiled,
    graph: cached && 'bytes' in cached ? { source: 'package' } : { source: 'compiled', ...(cached ? { why: cached.why } : {}) },
    // The compile (or the package's record of it) resolved the taps: no second compile for the fingerprint.
    fingerprint: fingerprintOf(model, compiled.taps, pkg.manifest, request.model),
    omitted,
  };
}

/** Compiles `heads`; where the model cannot have an optional one, compiles without the optional ones and says why. */
function compileWithOptional(model: Model, heads: readonly HeadName[], optional: readonly HeadName[], o: { taps: string; gaiaZMode: GaiaZMode; headSettings: HeadSettings }) {
  const compile = (withHeads: readonly HeadName[]) => compileScoringGraph(model, { taps: o.taps, heads: withHeads, gaiaZMode: o.gaiaZMode, headSettings: o.headSettings });
  const skippable = optional.filter((h) => heads.includes(h));
  try {
    return { result: compile(heads) as CompileResult, omitted: [] as Array<{ head: HeadName; why: string }> };
  } catch (err) {
    if (!(isGaiaError(err) && err.code === ErrorCodes.BAD_HEAD && skippable.length > 0)) throw err;
    return { result: compile(heads.filter((h) => !skippable.includes(h))), omitted: skippable.map((head) => ({ head, why: err.message })) };
  }
}
