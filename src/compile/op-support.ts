/**
 * Turns shape inference's "no rule for this op" into the full GAIA_UNSUPPORTED_OP report:
 * the op, its node and domain, and the ops the compiler supports. Shape inference
 * (src/onnx) cannot list them itself: the backward rules are registered in this layer.
 */
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import type { Graph } from '../onnx/graph.js';
import { NO_SHAPE_RULE } from '../onnx/shape-errors.js';
import { inferShapes, type GraphInfo } from '../onnx/shapes.js';
import { NON_DIFFERENTIABLE, supportedOps } from './rules/index.js';

/** Every op type (default domain) the compiler can carry through a scoring graph. */
export const compilerOps = (): string[] => [...new Set([...supportedOps(), ...NON_DIFFERENTIABLE])].sort();

export function inferShapesForCompile(graph: Graph, opset: number): GraphInfo {
  try {
    return inferShapes(graph, opset);
  } catch (err) {
    if (!isGaiaError(err) || err.code !== ErrorCodes.UNSUPPORTED_OP || !err.message.endsWith(NO_SHAPE_RULE)) throw err;
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${err.message}. Supported operators (domain ai.onnx): ${compilerOps().join(', ')}. ` +
        'Re-export the model with standard ONNX operators (an onnxruntime-optimised model carries com.microsoft fusions: export from the framework instead).',
      { node: err.node, cause: err },
    );
  }
}
