/**
 * The score heads appended to the classifier (docs/DEFINITIONS.md, docs/COMPILER.md):
 * - gaia_z: zero-ratio abnormality of the gradients of Σ_b max_c y[b,c] at every tap
 *   (the official cal_zero); higher = more out-of-distribution.
 * - gaia_a and its Table 3 fusion variants (heads/gaia-a.ts).
 * - msp, energy: the usual logit baselines (higher = more in-distribution).
 * - the paper's other baselines, one module each under heads/: odin, react, gradnorm,
 *   rankfeat, mahalanobis; features outputs the penultimate features (for calibrate).
 * - saliency: a [N, h, w] map of where the predicted class was seen (heads/saliency.ts),
 *   for the evidence page; not a score.
 * - the post-GAIA state of the art, one module each under heads/: knn, fdbd, vim, gen, scale.
 * - layer_mahalanobis: the tapped layers' channel means against ID statistics, for low-level
 *   shifts (heads/layer-mahalanobis.ts); layer_means outputs those means (for calibrate).
 */
import { attr, type Graph, type Shape } from '../onnx/graph.js';
import { DataType } from '../onnx/schema.js';
import { Tensor } from '../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { GraphBuilder } from './builder.js';
import { backward } from './backward.js';
import { findFeatures, type ClassifierParts, type FeatureParts } from './classifier.js';
import type { FeatureStats } from './feature-stats.js';
import type { Tap } from './taps.js';
import { meanSquare, spatialAxes } from './heads/common.js';
import { GAIA_A_VARIANTS, gaiaAHeads } from './heads/gaia-a.js';
import { fdbdHead } from './heads/fdbd.js';
import { genHead } from './heads/gen.js';
import { gradNormHead } from './heads/gradnorm.js';
import { knnHead } from './heads/knn.js';
import { layerChannels, layerMahalanobisHead, layerMeans } from './heads/layer-mahalanobis.js';
import { mahalanobisHead } from './heads/mahalanobis.js';
import { DEFAULT_ODIN, odinHead, type OdinSettings } from './heads/odin.js';
import { rankFeatHead } from './heads/rankfeat.js';
import { reactHead } from './heads/react.js';
import { saliencyHead, type SaliencyMethod } from './heads/saliency.js';
import { scaleHead } from './heads/scale.js';
import { vimHead } from './heads/vim.js';
import { patternBackward, patternCounts, patternUnsupported, type PatternLayout, type PatternPass } from './pattern/index.js';
import { tapsWithZeroRegions } from './zero-regions.js';

/** The compile note for a model whose taps reach the logits only through smooth ops (calibrate confirms it on frames). */
export const UNINFORMATIVE_GAIA_Z_NOTE =
  'gaia_z: no tap reaches the logits through an op whose derivative is exactly zero on a region (ReLU, Clip, ' +
  'HardSigmoid, HardSwish, MaxPool, Slice, ...): with only smooth activations (SiLU, GELU, Sigmoid) almost every ' +
  'gradient entry is non-zero, so expect zero ratios of ≈ 1 and a near-constant GAIA-Z; the heads that do not ' +
  'count zeros (msp, energy, gaia_a) are unaffected';

export const HEAD_NAMES = [
  'logits',
  'gaia_z',
  'gaia_a',
  'msp',
  'energy',
  'gaia_z_ratios',
  'odin',
  'react',
  'gradnorm',
  'rankfeat',
  'mahalanobis',
  'gaia_a_q1',
  'gaia_a_q2',
  'gaia_a_inner',
  'gaia_a_output',
  'gaia_a_direct',
  'gaia_a_top1',
  'features',
  'saliency',
  'knn',
  'fdbd',
  'vim',
  'gen',
  'scale',
  'layer_mahalanobis',
  'layer_means',
] as const;
export type HeadName = (typeof HEAD_NAMES)[number];
/** gaia_a costs a second backward pass through the last two stages, so it is opt-in. */
export const DEFAULT_HEADS: readonly HeadName[] = ['logits', 'gaia_z', 'msp', 'energy'];

/**
 * How the GAIA-Z head finds where its gradient is zero: "float" runs the float backward
 * pass and tests its values; "pattern" propagates only the 0/1 pattern (src/compile/pattern),
 * falling back to "float" (with a note) where a node's pattern cannot be proven exact, with
 * HardSwish/HardSigmoid masks read from their outputs (keeps onnxruntime's fused
 * Conv+activation kernels; docs/COMPILER.md); "pattern-exact" reads them from their inputs,
 * as autograd does, exact at every input.
 */
export type GaiaZMode = 'float' | 'pattern' | 'pattern-exact';
export const GAIA_Z_MODES: readonly GaiaZMode[] = ['float', 'pattern', 'pattern-exact'];

/** The score heads of the paper's comparison: every head with a calibratable score (not the logits, ratios, features, saliency map or layer means). */
const NOT_SCORES: readonly HeadName[] = ['logits', 'gaia_z_ratios', 'features', 'saliency', 'layer_means'];
export const METHOD_HEADS: readonly HeadName[] = HEAD_NAMES.filter((h) => !NOT_SCORES.includes(h));

/** Heads that read statistics of ID training features (src/compile/feature-stats.ts). */
export const STATS_HEADS: readonly HeadName[] = ['react', 'mahalanobis', 'knn', 'fdbd', 'vim', 'layer_mahalanobis'];

/** What some heads need besides the model. */
export interface HeadSettings {
  readonly featureStats?: FeatureStats;
  readonly odin?: OdinSettings;
  /** Which map the saliency head builds (heads/saliency.ts); default "auto". */
  readonly saliency?: SaliencyMethod;
  /** SCALE's percentile p (default DEFAULT_SCALE_PERCENTILE). */
  readonly scalePercentile?: number;
  /** How pattern mode lowers its per-layer ops (pattern/backward.ts PatternLayout; default "blocked"). */
  readonly patternLayout?: PatternLayout;
}

export interface HeadOutputs {
  /** Graph output name → the tensor holding it. */
  readonly outputs: Map<string, { tensor: string; shape: Shape }>;
  /** What the head builder decided that the compile output should say. */
  readonly notes: string[];
  /** The mode the GAIA-Z head was built with (after any fallback). */
  readonly gaiaZMode: GaiaZMode;
}

function staticArea(shape: Shape, channelAxis: number, tap: string): number {
  return spatialAxes(shape, channelAxis).reduce<number>((acc, i) => {
    const d = shape[i];
    if (typeof d !== 'number') throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `tap "${tap}" has a dynamic spatial size`);
    return acc * d;
  }, 1);
}

/**
 * r[b,c] = fraction of positions where the gradient is non-zero. Counting zeros with
 * Equal → Cast → ReduceSum is about 3x cheaper in onnxruntime than Sign → ReduceSumSquare
 * (Sign has no vectorised CPU kernel); (area − zeros) / area is exact, as torch's count / area.
 */
function zeroRatio(b: GraphBuilder, grad: string, tap: Tap): string {
  const { shape, channelAxis } = tap;
  const isZero = b.op1('Cast', [b.op1('Equal', [grad, b.scalar(0)])], [attr.int('to', DataType.FLOAT)], 'is_zero');
  if (shape.length === 2) return b.op1('Sub', [b.scalar(1), isZero]);
  const area = b.scalar(staticArea(shape, channelAxis, tap.tensor));
  const zeros = b.reduce('ReduceSum', isZero, spatialAxes(shape, channelAxis), false);
  return b.op1('Div', [b.op1('Sub', [area, zeros]), area], [], 'zero_ratio');
}

/** r[b,c] from a 0/1 pattern: the count of ones over the area, the same division as zeroRatio. */
function patternRatio(b: GraphBuilder, pass: PatternPass, pattern: string, tap: Tap): string {
  const { shape, channelAxis } = tap;
  const narrow = channelAxis === 1 && shape.length > 2 ? narrowPatternRatio(b, pattern, pass.shapeOf(pattern), tap) : undefined;
  if (narrow) return narrow;
  const full = pass.full(pattern, tap.tensor);
  if (shape.length === 2) return full;
  const area = b.scalar(staticArea(shape, channelAxis, tap.tensor));
  const ones = channelAxis === 1 ? patternCounts(b, full, shape, pass.factors.get(pattern), pass.blocked.has(full)) : b.reduce('ReduceSum', full, spatialAxes(shape, channelAxis), false);
  return b.op1('Div', [ones, area], [], 'zero_ratio');
}

/**
 * The ratios of a pattern that is narrower than its tap, without expanding it: a
 * one-channel pattern (the same for every channel: a dense Conv's input, a residual sum)
 * counts one channel and repeats it; one that is constant over the positions (from a global
 * pool) is its own ratio. The same integers and the same division as the full count, so
 * the same floats. Undefined when the pattern has the tap's shape or another narrowing.
 */
function narrowPatternRatio(b: GraphBuilder, pattern: string, ps: Shape, tap: Tap): string | undefined {
  const { shape } = tap;
  const channels = shape[1];
  if (ps.length !== shape.length || ps[0] !== shape[0] || typeof channels !== 'number') return undefined;
  const spatial = shape.slice(2);
  const samePositions = ps.slice(2).every((d, i) => d === spatial[i]);
  const noPositions = ps.slice(2).every((d) => d === 1);
  if (!samePositions && !noPositions) return undefined;
  if (ps[1] !== 1 && ps[1] !== channels) return undefined;
  if (samePositions && ps[1] === channels) return undefined;
  const oneChannel = ps[1] === 1 && channels > 1;
  const axes = spatial.map((_, i) => i + 2);
  const ratio = noPositions
    ? b.op1('Reshape', [pattern, b.ints([0, ps[1] as number])])
    : b.op1('Div', [b.reduce('ReduceSum', pattern, axes, false), b.scalar(staticArea(shape, 1, tap.tensor))], [], 'zero_ratio');
  return oneChannel ? b.op1('Expand', [ratio, b.ints([1, channels])], [], 'zero_ratio') : ratio;
}

export function buildHeads(
  graph: Graph,
  b: GraphBuilder,
  cls: ClassifierParts,
  taps: readonly Tap[],
  heads: readonly HeadName[],
  debug: boolean,
  gaiaZMode: GaiaZMode = 'float',
  settings: HeadSettings = {},
): HeadOutputs {
  const outputs = new Map<string, { tensor: string; shape: Shape }>();
  const notes: string[] = [];
  let mode = gaiaZMode;
  const batch = cls.batchDim;
  const want = (h: HeadName) => heads.includes(h);
  const logits = cls.logits;

  if (want('logits')) outputs.set('logits', { tensor: logits, shape: [batch, cls.numClasses] });

  if (want('gaia_z') || want('gaia_z_ratios') || debug) {
    // Seed: one-hot at the arg-max of each row (ArgMax picks the first maximum, as torch.max).
    const argmax = b.op1('ArgMax', [logits], [attr.int('axis', 1), attr.int('keepdims', 0), attr.int('select_last_index', 0)]);
    const onOff = b.addInitializer('onehot_values', (n) => Tensor.float32(n, [2], [0, 1]));
    const onehot = b.op1('OneHot', [argmax, b.ints([cls.numClasses]), onOff], [attr.int('axis', -1)], 'gaia_z_seed');
    const seeds = [{ tensor: logits, grad: onehot }];
    const targets = taps.map((t) => t.tensor);
    if (tapsWithZeroRegions(graph, b.info, logits, targets).size === 0) {
      notes.push(UNINFORMATIVE_GAIA_Z_NOTE);
    }
    if (mode !== 'float') {
      const why = patternUnsupported(graph, b, [logits], targets);
      if (why) {
        notes.push(`gaia_z: pattern mode cannot be proven exact here (${why}); the float backward computes it`);
        mode = 'float';
      }
    }
    const pass = mode === 'float' ? undefined : patternBackward(graph, b, seeds, targets, mode === 'pattern-exact' ? 'input' : 'output', settings.patternLayout);
    const grads = pass ? pass.patterns : backward(graph, b, seeds, targets);
    // Taps that meet at an Add (a residual branch and its downsample shortcut) share one
    // gradient tensor: count its zeros once.
    const ratioOf = new Map<string, string>();
    const ratios = taps.map((t, i) => {
      const g = grads.get(t.tensor);
      if (!g) {
        throw new GaiaError(ErrorCodes.BAD_TAPS, `tap ${i} ("${t.tensor}", ${t.opType} node "${t.node}") has no path to the logits; drop it from --taps`, {
          node: t.node,
        });
      }
      if (debug) {
        outputs.set(`debug/grad/${i}`, { tensor: pass ? pass.full(g, t.tensor) : g, shape: t.shape });
        outputs.set(`debug/tap/${i}`, { tensor: t.tensor, shape: t.shape });
      }
      let r = ratioOf.get(g);
      if (!r) {
        r = pass ? patternRatio(b, pass, g, t) : zeroRatio(b, g, t);
        ratioOf.set(g, r);
      }
      return r;
    });
    const channels = taps.reduce<number | string>((acc, t) => {
      const c = t.shape[t.channelAxis];
      return typeof acc === 'number' && typeof c === 'number' ? acc + c : 'K';
    }, 0);
    const all = b.op1('Concat', ratios, [attr.int('axis', 1)], 'gaia_z_ratios');
    if (want('gaia_z_ratios') || debug) outputs.set('gaia_z_ratios', { tensor: all, shape: [batch, channels] });
    if (want('gaia_z')) outputs.set('gaia_z', { tensor: meanSquare(b, all), shape: [batch] });
  }

  let features: FeatureParts | undefined;
  const featureParts = () => (features ??= findFeatures(graph, b.info, logits));

  const variants = GAIA_A_VARIANTS.filter((v) => want(v));
  if (variants.length > 0) {
    const built = gaiaAHeads(graph, b, cls, featureParts(), taps, variants);
    for (const [v, tensor] of built.scores) outputs.set(v, { tensor, shape: [batch] });
    if (debug && built.o) outputs.set('debug/gaia_a_o', { tensor: built.o, shape: [batch] });
  }

  if (want('msp')) {
    const probs = b.op1('Softmax', [logits], [attr.int('axis', 1)]);
    outputs.set('msp', { tensor: b.reduce('ReduceMax', probs, [1], false), shape: [batch] });
  }
  if (want('energy')) {
    outputs.set('energy', { tensor: b.reduce('ReduceLogSumExp', logits, [1], false), shape: [batch] });
  }
  const stats = (head: HeadName): FeatureStats => {
    if (settings.featureStats) return settings.featureStats;
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `the ${head} head needs statistics of the penultimate features of ID training data, and none were given. ` +
        'Compute them with gaia-sentinel calibrate --model DIR --data CALIBRATION_SET --stats-data TRAINING_SET, ' +
        `then score with that calibration (or leave ${STATS_HEADS.join(', ')} out of --heads)`,
    );
  };
  if (want('odin')) outputs.set('odin', { tensor: odinHead(graph, b, cls, settings.odin ?? DEFAULT_ODIN), shape: [batch] });
  if (want('react')) outputs.set('react', { tensor: reactHead(graph, b, cls, featureParts(), stats('react').reactThreshold), shape: [batch] });
  if (want('gradnorm')) outputs.set('gradnorm', { tensor: gradNormHead(graph, b, cls, featureParts()), shape: [batch] });
  if (want('rankfeat')) outputs.set('rankfeat', { tensor: rankFeatHead(graph, b, cls, featureParts()), shape: [batch] });
  if (want('mahalanobis')) outputs.set('mahalanobis', { tensor: mahalanobisHead(b, cls, featureParts(), stats('mahalanobis')), shape: [batch] });
  if (want('knn')) outputs.set('knn', { tensor: knnHead(b, featureParts(), stats('knn')), shape: [batch] });
  if (want('fdbd')) outputs.set('fdbd', { tensor: fdbdHead(graph, b, cls, featureParts(), stats('fdbd')), shape: [batch] });
  if (want('vim')) outputs.set('vim', { tensor: vimHead(b, cls, featureParts(), stats('vim')), shape: [batch] });
  if (want('gen')) outputs.set('gen', { tensor: genHead(b, cls), shape: [batch] });
  if (want('scale')) outputs.set('scale', { tensor: scaleHead(graph, b, cls, featureParts(), settings.scalePercentile), shape: [batch] });
  if (want('layer_mahalanobis')) outputs.set('layer_mahalanobis', { tensor: layerMahalanobisHead(b, taps, stats('layer_mahalanobis').layers), shape: [batch] });
  if (want('layer_means')) outputs.set('layer_means', { tensor: layerMeans(b, taps), shape: [batch, layerChannels(taps).reduce((a, c) => a + c, 0)] });
  if (want('features')) {
    const pen = featureParts().penultimate;
    outputs.set('features', { tensor: pen, shape: b.shapeOf(pen) ?? [batch, 'D'] });
  }
  if (want('saliency')) {
    const map = saliencyHead(graph, b, cls, taps, settings.saliency);
    outputs.set('saliency', { tensor: map.tensor, shape: map.shape });
    notes.push(map.note);
  }
  return { outputs, notes, gaiaZMode: mode };
}
