/**
 * The score heads appended to the classifier (docs/DEFINITIONS.md):
 * - gaia_z: zero-ratio abnormality of the gradients of Σ_b max_c y[b,c] at every tap
 *   (the official cal_zero); higher = more out-of-distribution.
 * - gaia_a: channel-mean gradient abnormality (the official cal_grad_value).
 * - msp, energy: the usual logit baselines (higher = more in-distribution).
 */
import { attr, type Graph, type Shape } from '../onnx/graph.js';
import { DataType } from '../onnx/schema.js';
import { Tensor } from '../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { GraphBuilder } from './builder.js';
import { backward } from './backward.js';
import { findFeatures, type ClassifierParts } from './classifier.js';
import { lastStages, type Tap } from './taps.js';
import { patternBackward, patternCounts, patternUnsupported } from './pattern/index.js';
import type { ReluFactors } from './pattern/types.js';
import { tapsWithZeroRegions } from './zero-regions.js';

export const HEAD_NAMES = ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy', 'gaia_z_ratios'] as const;
export type HeadName = (typeof HEAD_NAMES)[number];
/** gaia_a costs a second backward pass through the last two stages, so it is opt-in. */
export const DEFAULT_HEADS: readonly HeadName[] = ['logits', 'gaia_z', 'msp', 'energy'];

/**
 * How the GAIA-Z head finds where its gradient is zero: "float" runs the float backward
 * pass and tests its values; "pattern" propagates only the 0/1 pattern (src/compile/pattern),
 * falling back to "float" (with a note) where a node's pattern cannot be proven exact.
 */
export type GaiaZMode = 'float' | 'pattern';
export const GAIA_Z_MODES: readonly GaiaZMode[] = ['float', 'pattern'];

export interface HeadOutputs {
  /** Graph output name → the tensor holding it. */
  readonly outputs: Map<string, { tensor: string; shape: Shape }>;
  /** What the head builder decided that the compile output should say. */
  readonly notes: string[];
  /** The mode the GAIA-Z head was built with (after any fallback). */
  readonly gaiaZMode: GaiaZMode;
}

/** The position axes of a tensor: every axis but the batch and the channels. */
const spatialAxes = (shape: Shape, channelAxis = 1) => shape.map((_, i) => i).filter((i) => i > 0 && i !== channelAxis);

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
function patternRatio(b: GraphBuilder, pattern: string, tap: Tap, factors?: ReluFactors): string {
  const { shape, channelAxis } = tap;
  if (shape.length === 2) return pattern;
  const area = b.scalar(staticArea(shape, channelAxis, tap.tensor));
  const ones = channelAxis === 1 ? patternCounts(b, pattern, shape, factors) : b.reduce('ReduceSum', pattern, spatialAxes(shape, channelAxis), false);
  return b.op1('Div', [ones, area], [], 'zero_ratio');
}

function meanSquare(b: GraphBuilder, x: string): string {
  return b.reduce('ReduceMean', b.op1('Mul', [x, x]), [1], false);
}

export function buildHeads(
  graph: Graph,
  b: GraphBuilder,
  cls: ClassifierParts,
  taps: readonly Tap[],
  heads: readonly HeadName[],
  debug: boolean,
  gaiaZMode: GaiaZMode = 'float',
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
      notes.push(
        'gaia_z: no tap reaches the logits through an op whose derivative is exactly zero on a region (ReLU, Clip, ' +
          'HardSigmoid, HardSwish, MaxPool, Slice, ...): with only smooth activations (SiLU, GELU, Sigmoid) almost every ' +
          'gradient entry is non-zero, so expect zero ratios of ≈ 1 and a near-constant GAIA-Z; the heads that do not ' +
          'count zeros (msp, energy, gaia_a) are unaffected',
      );
    }
    if (mode === 'pattern') {
      const why = patternUnsupported(graph, b, [logits], targets);
      if (why) {
        notes.push(`gaia_z: pattern mode cannot be proven exact here (${why}); the float backward computes it`);
        mode = 'float';
      }
    }
    const pass = mode === 'pattern' ? patternBackward(graph, b, seeds, targets) : undefined;
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
        outputs.set(`debug/grad/${i}`, { tensor: g, shape: t.shape });
        outputs.set(`debug/tap/${i}`, { tensor: t.tensor, shape: t.shape });
      }
      let r = ratioOf.get(g);
      if (!r) {
        r = pass ? patternRatio(b, g, t, pass.factors.get(g)) : zeroRatio(b, g, t);
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

  if (want('gaia_a')) {
    const { penultimate, lastFeatureMap } = findFeatures(graph, b.info, logits);
    // d/dy Σ_c log_softmax(y)_c = 1 − C·softmax(y)
    const probs = b.op1('Softmax', [logits], [attr.int('axis', 1)]);
    const seed1 = b.op1('Sub', [b.scalar(1), b.op1('Mul', [probs, b.scalar(cls.numClasses)])], [], 'gaia_a_seed');
    const gLast = backward(graph, b, [{ tensor: logits, grad: seed1 }], [lastFeatureMap]).get(lastFeatureMap)!;
    const fmShape = b.shapeOf(lastFeatureMap)!;
    const channelMean = b.reduce('ReduceMean', gLast, spatialAxes(fmShape), false);
    const o = b.op1('Sqrt', [b.reduce('ReduceMean', b.op1('Abs', [channelMean]), [1], false)], [], 'gaia_a_o');
    const innerTaps = lastStages(taps, 2);
    const g2 = backward(graph, b, [{ tensor: penultimate, grad: b.onesLike(penultimate) }], innerTaps.map((t) => t.tensor));
    const inner = innerTaps.map((t) => {
      const g = g2.get(t.tensor);
      if (!g) throw new GaiaError(ErrorCodes.BAD_HEAD, `gaia_a: tap "${t.tensor}" does not reach the penultimate features`, { node: t.node });
      return b.op1('Abs', [b.reduce('ReduceMean', g, spatialAxes(t.shape, t.channelAxis), false)]);
    });
    const innerAll = inner.length === 1 ? inner[0]! : b.op1('Concat', inner, [attr.int('axis', 1)]);
    const scaled = b.op1('Div', [innerAll, b.unsqueeze(o, [1])]);
    outputs.set('gaia_a', { tensor: meanSquare(b, scaled), shape: [batch] });
    if (debug) outputs.set('debug/gaia_a_o', { tensor: o, shape: [batch] });
  }

  if (want('msp')) {
    const probs = b.op1('Softmax', [logits], [attr.int('axis', 1)]);
    outputs.set('msp', { tensor: b.reduce('ReduceMax', probs, [1], false), shape: [batch] });
  }
  if (want('energy')) {
    outputs.set('energy', { tensor: b.reduce('ReduceLogSumExp', logits, [1], false), shape: [batch] });
  }
  return { outputs, notes, gaiaZMode: mode };
}
