/**
 * Pattern rules: the backward pass of GAIA-Z's gradient *pattern* (where it is non-zero),
 * not its values. A pattern tensor is float32 0/1. It either has the shape of the forward
 * tensor it belongs to or a shape that broadcasts to it (an axis of size 1 means "the same
 * for every index of that axis"): a dense Conv's input pattern is the same for every input
 * channel, so it is kept as one channel until an activation mask makes it per-channel.
 */
import type { Shape } from '../../onnx/graph.js';
import type { VjpContext } from '../rules/types.js';

/**
 * A ReLU input's pattern kept as its two factors, mask(c, p) AND shared(p): the pattern a
 * one-channel output pattern becomes at a ReLU. Whoever only needs its channel-OR (the
 * Conv before it) or its per-channel count (a tap) reads the factors, and the full-size
 * product is never materialised when nothing else reads it (the compiler drops it).
 */
export interface ReluFactors {
  /** mask(c, p) = positive(c, p) > 0, float32 0/1, the forward tensor's shape. */
  readonly mask: string;
  /** The ReLU's output (≥ 0): the channel-OR of the mask is max over channels > 0. */
  readonly positive: string;
  /** The one-channel pattern, [B, 1, spatial...]. */
  readonly shared: string;
}

export interface PatternContext extends VjpContext {
  /** Shape of a pattern tensor (broadcasts to its forward tensor's shape). */
  patternShape(name: string): Shape;
  /** Records the shape of a pattern a rule returns when it is not the forward input's shape. */
  setPatternShape(name: string, shape: Shape): void;
  /** The factors of a pattern a ReLU made from a one-channel pattern, if it is one. */
  factorsOf?(name: string): ReluFactors | undefined;
  setFactors?(name: string, factors: ReluFactors): void;
  /** Lower per-layer patterns with ops onnxruntime keeps in its blocked layout (blocked.ts). */
  readonly blocked?: boolean;
  /** The pattern tensors that blocked lowering produced (onnxruntime holds them blocked). */
  readonly blockedTensors?: Set<string>;
  /** Whether a forward tensor is the output of a grouped (depthwise) Conv. */
  readonly fromGroupedConv?: (name: string) => boolean;
}

export interface PatternRule {
  /**
   * Why this node's pattern cannot be propagated exactly, or undefined when it can. Checked
   * for every node before anything is emitted, so a head either gets an exact pattern pass
   * or the float backward, never half of each.
   */
  readonly check?: (ctx: Pick<VjpContext, 'b' | 'node' | 'needsGrad'>) => string | undefined;
  /** The rule accepts output patterns that only broadcast to the output's shape. */
  readonly broadcastOk?: boolean;
  /** Input patterns, 0/1 (undefined where no gradient is needed). */
  readonly emit: (ctx: PatternContext) => Array<string | undefined>;
}
