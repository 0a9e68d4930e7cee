/**
 * Resize (nearest, linear and cubic; every coordinate transformation but
 * tf_crop_and_resize). Each mode is separable: along one resized axis the output is
 * A·x for a fixed (out × in) matrix A of interpolation weights, so the gradient is Aᵀ·g,
 * one MatMul per resized axis. A is built here from the operator's own definition:
 * https://onnx.ai/onnx/operators/onnx__Resize.html
 * Coordinates are computed in float32, as onnxruntime's kernels compute them.
 */
import { attr, attrFloat, attrInt, attrString, describeNode, type Node } from '../../onnx/graph.js';
import { resizeParams } from '../../onnx/op-params.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { g0, type VjpContext, type VjpRule } from './types.js';

const f = Math.fround;

function unsupported(node: Node, why: string): never {
  throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)} ${why}`, { node: node.name });
}

/** The input coordinate that output coordinate `o` samples (coordinate_transformation_mode). */
function sourceCoordinate(node: Node, mode: string, o: number, inLen: number, outLen: number, scale: number): number {
  switch (mode) {
    case 'half_pixel':
      return f(f(f(o + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : f(f(o * f(inLen - 1)) / f(outLen - 1));
    case 'asymmetric':
      return f(o / scale);
    case 'half_pixel_symmetric': {
      const adjustment = f(outLen / f(scale * inLen));
      const offset = f(f(inLen / 2) * f(1 - adjustment));
      // onnxruntime's order: (offset + (o + 0.5) / scale) − 0.5.
      return f(f(offset + f(f(o + 0.5) / scale)) - 0.5);
    }
    default:
      return unsupported(node, `uses coordinate_transformation_mode "${mode}"; supported: half_pixel, pytorch_half_pixel, align_corners, asymmetric, half_pixel_symmetric`);
  }
}

function nearestIndex(node: Node, rounding: string, x: number): number {
  switch (rounding) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return unsupported(node, `uses nearest_mode "${rounding}"`);
  }
}

/** Keys' cubic convolution weights for the four taps around fraction t. */
function cubicWeights(a: number, t: number): number[] {
  const w = (d: number) => {
    const x = Math.abs(d);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

/** The (outLen × inLen) interpolation matrix of one axis, row-major. */
export function resizeMatrix(node: Node, inLen: number, outLen: number, scale: number): Float32Array {
  const mode = attrString(node, 'mode', 'nearest');
  const transform = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const a = new Float64Array(outLen * inLen);
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  const add = (o: number, i: number, w: number) => (a[o * inLen + clampIndex(i)] = a[o * inLen + clampIndex(i)]! + w);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoordinate(node, transform, o, inLen, outLen, scale);
    if (mode === 'nearest') {
      add(o, nearestIndex(node, attrString(node, 'nearest_mode', 'round_prefer_floor'), x), 1);
    } else if (mode === 'linear') {
      // Outside the input the sample is the edge value (x clamped into range).
      const xc = Math.min(Math.max(x, 0), inLen - 1);
      const i0 = Math.floor(xc);
      const t = xc - i0;
      add(o, i0, 1 - t);
      add(o, i0 + 1, t);
    } else if (mode === 'cubic') {
      const coeff = attrFloat(node, 'cubic_coeff_a', -0.75);
      const exclude = attrInt(node, 'exclude_outside', 0) === 1;
      const i0 = Math.floor(x);
      const w = cubicWeights(coeff, x - i0);
      const taps = [-1, 0, 1, 2].map((k) => i0 + k);
      const inside = taps.map((i) => i >= 0 && i < inLen);
      const total = exclude ? w.reduce((s, v, k) => s + (inside[k] ? v : 0), 0) : 1;
      taps.forEach((i, k) => {
        if (exclude && !inside[k]) return;
        add(o, i, w[k]! / total);
      });
    } else {
      unsupported(node, `uses mode "${mode}"`);
    }
  }
  return Float32Array.from(a);
}

const resize: VjpRule = (ctx: VjpContext) => {
  const { b, node } = ctx;
  if (attrInt(node, 'antialias', 0) === 1) unsupported(node, 'uses antialias=1; only plain resampling is supported');
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const ys = ctx.shape(node.outputs[0]!);
  const { scales } = resizeParams(node, xs, (n, i) => b.tensorInfo(n.inputs[i]!) ?? unsupported(node, `has an input "${n.inputs[i]}" not known at compile time`));
  let g = g0(ctx);
  const rank = xs.length;
  for (let axis = 0; axis < rank; axis++) {
    if (xs[axis] === ys[axis] && (scales?.[axis] ?? 1) === 1) continue;
    const inLen = xs[axis];
    const outLen = ys[axis];
    if (typeof inLen !== 'number' || typeof outLen !== 'number') unsupported(node, `resizes the dynamic axis ${axis}`);
    if (axis < 2) unsupported(node, `resizes axis ${axis}; only spatial axes may be resized`);
    const scale = scales ? scales[axis]! : f(outLen / inLen);
    const a = resizeMatrix(node, inLen, outLen, scale);
    // Move the axis last, multiply by A (out × in) from the right, move it back.
    const perm = [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis), axis];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    const moved = axis === rank - 1 ? g : b.op1('Transpose', [g], [attr.ints('perm', perm)]);
    const product = b.op1('MatMul', [moved, b.floatTensor('resize_weights', [outLen, inLen], a)], [], 'resize_grad');
    g = axis === rank - 1 ? product : b.op1('Transpose', [product], [attr.ints('perm', inverse)]);
  }
  return [g];
};

export const resampleRules: Record<string, VjpRule> = { Resize: resize };
