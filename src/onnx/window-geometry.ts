/**
 * Geometry of sliding-window operators (Conv, ConvTranspose, MaxPool, AveragePool):
 * resolves auto_pad into explicit pads and computes output sizes, the way the ONNX spec
 * and onnxruntime do. Shared by shape inference and the backward rules so the two never
 * disagree.
 */
import { attrInt, attrInts, attrString, describeNode, type Node } from './graph.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit pads: [begin_0, begin_1, ..., end_0, end_1, ...]. */
  pads: number[];
  ceilMode: boolean;
  /** Input and output spatial sizes. */
  inSize: number[];
  outSize: number[];
}

/**
 * @param kernel spatial kernel size (from the weight shape for Conv, kernel_shape for pools)
 * @param inSize spatial input size (static)
 */
export function windowGeometry(node: Node, kernel: number[], inSize: number[]): WindowGeometry {
  const n = kernel.length;
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const ceilMode = attrInt(node, 'ceil_mode', 0) === 1;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const effKernel = kernel.map((k, i) => dilations[i]! * (k - 1) + 1);

  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSize[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + effKernel[i]! - inSize[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
    }
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * n).fill(0);
  } else if (autoPad !== 'NOTSET') {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)} has auto_pad="${autoPad}"; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID`, { node: node.name });
  }

  const outSize = inSize.map((size, i) => {
    const span = size + pads[i]! + pads[i + n]! - effKernel[i]!;
    if (span < 0) {
      throw new GaiaError(
        ErrorCodes.SHAPE_INFERENCE,
        `${describeNode(node)}: the window (${effKernel[i]}) is larger than the padded input (${size + pads[i]! + pads[i + n]!}) on spatial axis ${i}`,
        { node: node.name },
      );
    }
    if (!ceilMode) return Math.floor(span / strides[i]!) + 1;
    let out = Math.ceil(span / strides[i]!) + 1;
    // A last window that would start inside the end padding is dropped (onnxruntime, PyTorch).
    if ((out - 1) * strides[i]! >= size + pads[i]!) out -= 1;
    return out;
  });
  return { kernel, strides, dilations, pads, ceilMode, inSize, outSize };
}
