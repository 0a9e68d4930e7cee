import type { Node, Shape } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';

/**
 * What a vector-Jacobian rule gets: the forward node, the gradient flowing into each of
 * its outputs (undefined where no gradient reaches that output), and which inputs need a
 * gradient (activations on a path from a tap; weights and constants never do).
 */
export interface VjpContext {
  readonly b: GraphBuilder;
  readonly node: Node;
  readonly gradOutputs: ReadonlyArray<string | undefined>;
  readonly needsGrad: readonly boolean[];
  /** Static shape of a forward tensor (throws with the node named if unknown). */
  shape(name: string): Shape;
}

/** Returns the gradient for each input (undefined where none is needed). */
export type VjpRule = (ctx: VjpContext) => Array<string | undefined>;

/** The only output gradient of a single-output op (rules are called only when it exists). */
export const g0 = (ctx: VjpContext): string => ctx.gradOutputs[0]!;
