/**
 * The compiled scoring graph kept in the model package (model.gaia.onnx), with a record of
 * what it was compiled from and for (model.gaia.json): the classifier's weights, the taps,
 * the preprocessing, the scoring semantics, the heads, the GAIA-Z mode and the head settings.
 * A start whose request matches every one of them, and whose graph file still has the
 * recorded digest, loads the graph instead of compiling; any difference is said, and the
 * graph is compiled again (and kept, where the package is writable).
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompileResult } from '../compile/compiler.js';
import type { FeatureStats } from '../compile/feature-stats.js';
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import { SCORING_SEMANTICS_VERSION } from '../compile/semantics.js';
import type { Model } from '../onnx/graph.js';
import { modelDigest } from '../onnx/model-digest.js';
import type { ModelManifest } from './manifest.js';

export const SCORING_GRAPH_FILE = 'model.gaia.onnx';
export const SCORING_RECORD_FILE = 'model.gaia.json';
const FORMAT = 'gaia-sentinel/scoring-graph@1';

/** What a scoring graph is compiled from and for: equal requests give equal graphs. */
export interface CompileRequest {
  /** The classifier's weights digest (onnx/model-digest.ts). */
  readonly model: string;
  readonly taps: string;
  readonly preprocessing: string;
  readonly semantics: number;
  readonly heads: readonly string[];
  readonly gaiaZMode: string;
  readonly settings: string;
}

/** What a compile resolved, which a reused graph must still tell its users. */
export interface CompiledSummary {
  /** Shape and channel axis: recorded since the evidence pages split GAIA-Z's ratios per tap (older records lack them). */
  readonly taps: ReadonlyArray<{ readonly tensor: string; readonly shape?: ReadonlyArray<number | string>; readonly channelAxis?: number }>;
  readonly notes: readonly string[];
  readonly gaiaZMode: GaiaZMode;
  readonly numClasses: number;
}

interface Record_ extends CompiledSummary {
  readonly format: typeof FORMAT;
  readonly request: CompileRequest;
  /** sha256 of model.gaia.onnx as written. */
  readonly graph: string;
}

/** The post-GAIA heads' statistics in the key, only when present: the key of older statistics is unchanged. */
function headStatsKey(s: FeatureStats): unknown[] {
  const digest = (v: Float32Array) => sha256(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return [
    ...(s.knn ? [['knn', s.knn.k, s.knn.rows, digest(s.knn.bank)]] : []),
    ...(s.featureMean ? [['featureMean', digest(s.featureMean)]] : []),
    ...(s.vim ? [['vim', s.vim.principalDim, s.vim.alpha, digest(s.vim.origin), digest(s.vim.residualBasis)]] : []),
    ...(s.layers ? [['layers', s.layers.channels, digest(s.layers.layerScale), digest(s.layers.mean), digest(s.layers.invStd)]] : []),
  ];
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export function compileRequest(model: Model, manifest: ModelManifest, o: { taps: string; heads: readonly HeadName[]; gaiaZMode: GaiaZMode; headSettings: HeadSettings }): CompileRequest {
  const { name: _name, ...input } = manifest.input;
  const stats = o.headSettings.featureStats;
  const settings = {
    odin: o.headSettings.odin ?? null,
    featureStats: stats ? sha256(JSON.stringify([stats.reactThreshold, stats.numClasses, stats.dim, Array.from(stats.classMeans), Array.from(stats.precision), ...headStatsKey(stats)])) : null,
    // Only a forced saliency map is part of the key, so the graphs packages already keep stay valid.
    ...(o.headSettings.saliency && o.headSettings.saliency !== 'auto' ? { saliency: o.headSettings.saliency } : {}),
    // SCALE's percentile only when set, so the key of a request without it is unchanged.
    ...(o.headSettings.scalePercentile !== undefined ? { scalePercentile: o.headSettings.scalePercentile } : {}),
  };
  return {
    model: modelDigest(model),
    taps: o.taps,
    preprocessing: sha256(JSON.stringify(input)),
    semantics: SCORING_SEMANTICS_VERSION,
    heads: [...o.heads].sort(),
    gaiaZMode: o.gaiaZMode,
    settings: sha256(JSON.stringify(settings)),
  };
}

const WHAT: Record<keyof CompileRequest, string> = {
  model: "the classifier's weights",
  taps: 'the taps',
  preprocessing: 'the preprocessing',
  semantics: 'the scoring semantics version',
  heads: 'the heads',
  gaiaZMode: 'the GAIA-Z mode',
  settings: 'the head settings (ODIN, feature statistics, saliency method)',
};

/**
 * Heads a kept graph may have beyond the request: outputs the evidence pages read (the per-tap
 * ratios GAIA-Z computes anyway, the saliency map's few small nodes), so a package `init`
 * compiled for an agent with evidence on also serves one with it off (the images), even from
 * a read-only mount. Any other difference in the heads compiles anew: an unrequested head
 * such as gaia_a would cost a second backward pass on every batch.
 */
const CHEAP_EXTRA_HEADS: ReadonlySet<string> = new Set(['gaia_z_ratios', 'saliency']);

function servesHeads(kept: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((h) => kept.includes(h)) && kept.every((h) => wanted.includes(h) || CHEAP_EXTRA_HEADS.has(h));
}

/** The package's graph when it was compiled for `request`; else why not (undefined: the package has none). */
export async function cachedGraph(dir: string, request: CompileRequest): Promise<{ bytes: Uint8Array; summary: CompiledSummary } | { why: string } | undefined> {
  let record: Record_;
  try {
    record = JSON.parse(await readFile(join(dir, SCORING_RECORD_FILE), 'utf8')) as Record_;
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT || typeof record.request !== 'object') return { why: `${SCORING_RECORD_FILE} is not a ${FORMAT} record` };
  const differ = (Object.keys(WHAT) as Array<keyof CompileRequest>).filter((k) =>
    k === 'heads' ? !servesHeads(record.request.heads, request.heads) : JSON.stringify(record.request[k]) !== JSON.stringify(request[k]),
  );
  if (differ.length > 0) {
    const heads = differ.includes('heads') ? ` (it has ${record.request.heads.join(', ')}; wanted ${request.heads.join(', ')})` : '';
    return { why: `${SCORING_GRAPH_FILE} was compiled for other ${differ.map((k) => WHAT[k]).join(', ')}${heads}` };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, SCORING_GRAPH_FILE));
  } catch {
    return { why: `${SCORING_GRAPH_FILE} is missing` };
  }
  if (sha256(bytes) !== record.graph) return { why: `${SCORING_GRAPH_FILE} does not match its record (changed or partly written)` };
  return { bytes, summary: { taps: record.taps, notes: record.notes, gaiaZMode: record.gaiaZMode, numClasses: record.numClasses } };
}

/** Keeps a compiled graph in the package: the graph first, then its record (each written whole, then renamed). */
export async function keepGraph(dir: string, request: CompileRequest, compiled: CompileResult, bytes: Uint8Array): Promise<void> {
  const record: Record_ = {
    format: FORMAT,
    request,
    graph: sha256(bytes),
    taps: compiled.taps.map((t) => ({ tensor: t.tensor, shape: t.shape, channelAxis: t.channelAxis })),
    notes: compiled.notes,
    gaiaZMode: compiled.gaiaZMode,
    numClasses: compiled.numClasses,
  };
  const write = async (file: string, data: string | Uint8Array) => {
    const tmp = join(dir, `${file}.tmp-${process.pid}`);
    await writeFile(tmp, data);
    await rename(tmp, join(dir, file));
  };
  await write(SCORING_GRAPH_FILE, bytes);
  await write(SCORING_RECORD_FILE, `${JSON.stringify(record, null, 2)}\n`);
}
