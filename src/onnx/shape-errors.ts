/**
 * How shape inference fails: a node whose shape cannot be worked out (GAIA_SHAPE_INFERENCE),
 * or an op it has no rule for, which is an unsupported op (GAIA_UNSUPPORTED_OP), each naming
 * the node.
 */
import { describeNode, type Node, type Shape } from './graph.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export function fail(node: Node, what: string): never {
  throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(node)}: ${what}`, { node: node.name });
}

/**
 * An op this module has no rule for is an unsupported op, not a shape failure; the
 * compiler adds the list of supported ops (compile/op-support.ts), which lives above this layer.
 */
export const NO_SHAPE_RULE = 'is not supported by the compiler';

export function unsupported(node: Node): never {
  const domain = node.domain || 'ai.onnx';
  throw new GaiaError(
    ErrorCodes.UNSUPPORTED_OP,
    `${describeNode(node)}: operator ${domain === 'ai.onnx' ? '' : `${domain}::`}${node.opType} (domain "${domain}") ${NO_SHAPE_RULE}`,
    { node: node.name },
  );
}

export function staticDims(node: Node, shape: Shape, what: string): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : fail(node, `${what} dimension "${d}" must be static`)));
}
