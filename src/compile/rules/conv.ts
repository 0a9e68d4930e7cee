/**
 * Input gradient of Conv. https://onnx.ai/onnx/operators/onnx__Conv.html
 *
 * The gradient of a convolution with respect to its input is the transposed convolution
 * with the same weights. Runtimes optimise Conv far more than ConvTranspose, and for
 * stride 1 the transposed convolution is itself a convolution: weights swapped in the
 * channel axes (per group) and flipped spatially, padding d·(k−1)−p. That form is used
 * wherever it is exact; strided convolutions use ConvTranspose with an explicit
 * output_padding that restores the input size.
 */
import { attr, attrInt, describeNode } from '../../onnx/graph.js';
import { windowGeometry, type WindowGeometry } from '../../onnx/window-geometry.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { Tensor } from '../../onnx/tensor.js';
import type { GraphBuilder } from '../builder.js';
import { g0, type VjpRule } from './types.js';

export function staticSpatial(ctx: Parameters<VjpRule>[0], name: string): number[] {
  return ctx.shape(name).slice(2).map((d) => {
    if (typeof d !== 'number') {
      throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(ctx.node)}: spatial size of "${name}" must be static, got ${d}`, {
        node: ctx.node.name,
      });
    }
    return d;
  });
}

/** Weights of the convolution that computes the stride-1 input gradient. */
export function flippedTransposedWeights(w: Tensor, group: number): { dims: number[]; data: Float32Array } {
  const [cout, cinPerGroup, ...kernel] = w.dims as number[];
  const src = w.toFloat32();
  const spatial = kernel.reduce((a, b) => a * b, 1);
  const coutPerGroup = cout! / group;
  const cin = cinPerGroup! * group;
  const out = new Float32Array(src.length);
  for (let g = 0; g < group; g++) {
    for (let o = 0; o < coutPerGroup; o++) {
      for (let i = 0; i < cinPerGroup!; i++) {
        const from = ((g * coutPerGroup + o) * cinPerGroup! + i) * spatial;
        const to = ((g * cinPerGroup! + i) * coutPerGroup + o) * spatial;
        // Reversing the flattened kernel flips every spatial axis at once.
        for (let s = 0; s < spatial; s++) out[to + s] = src[from + spatial - 1 - s]!;
      }
    }
  }
  return { dims: [cin, coutPerGroup, ...kernel], data: out };
}

export function convInputGrad(b: GraphBuilder, gy: string, weight: string, group: number, geo: WindowGeometry): string {
  const n = geo.kernel.length;
  const w = b.constant(weight);
  const reach = geo.kernel.map((k, i) => geo.dilations[i]! * (k - 1));
  const stride1 = geo.strides.every((s) => s === 1);
  const padsFit = geo.pads.every((p, i) => p <= reach[i % n]!);
  if (stride1 && padsFit && w) {
    const flipped = flippedTransposedWeights(w, group);
    const pads = geo.pads.map((p, i) => reach[i % n]! - p);
    return b.op1('Conv', [gy, b.floatTensor('conv_grad_weight', flipped.dims, flipped.data)], [
      attr.ints('dilations', geo.dilations),
      attr.int('group', group),
      attr.ints('kernel_shape', geo.kernel),
      attr.ints('pads', pads),
      attr.ints('strides', geo.strides),
    ], 'conv_grad');
  }
  const polyphase = w ? polyphaseInputGrad(b, gy, w, group, geo) : undefined;
  if (polyphase) return polyphase;
  const outputPadding = geo.inSize.map(
    (size, i) => size - ((geo.outSize[i]! - 1) * geo.strides[i]! + reach[i]! + 1 - geo.pads[i]! - geo.pads[i + n]!),
  );
  return b.op1('ConvTranspose', [gy, weight], [
    attr.ints('dilations', geo.dilations),
    attr.int('group', group),
    attr.ints('kernel_shape', geo.kernel),
    attr.ints('output_padding', outputPadding),
    attr.ints('pads', geo.pads),
    attr.ints('strides', geo.strides),
  ], 'conv_grad_t');
}

const conv: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const weight = node.inputs[1]!;
  if (ctx.needsGrad[1] || ctx.needsGrad[2]) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${describeNode(node)} computes its weights or bias from the input; only constant weights are supported`,
      { node: node.name },
    );
  }
  const kernel = staticSpatial(ctx, weight);
  const geo = windowGeometry(node, kernel, staticSpatial(ctx, x));
  return [convInputGrad(b, g0(ctx), weight, attrInt(node, 'group', 1), geo)];
};

export const convRules: Record<string, VjpRule> = { Conv: conv };

/** One phase's taps along one axis: kernel index per position, and the offset into dY. */
interface PhaseTaps {
  /** kernel[j] = index into the forward kernel for position j of the phase kernel. */
  readonly kernel: number[];
  /** Offset of position 0 in dY (≤ 0: padding at the start). */
  readonly first: number;
}

function phaseTaps(k: number, s: number, padBegin: number, r: number): PhaseTaps {
  // dX[s·m + r] = Σ dY[m + t]·W[ky] over ky ≡ r + padBegin (mod s), t = (r + padBegin − ky) / s.
  const c = r + padBegin;
  const pairs: Array<{ t: number; ky: number }> = [];
  for (let ky = 0; ky < k; ky++) if ((((c - ky) % s) + s) % s === 0) pairs.push({ t: (c - ky) / s, ky });
  pairs.sort((p, q) => p.t - q.t);
  return { kernel: pairs.map((p) => p.ky), first: pairs[0]?.t ?? 0 };
}

/**
 * Input gradient of a strided 2-D convolution as s² stride-1 convolutions, one per output
 * phase, interleaved by DepthToSpace ("sub-pixel" form). Same FLOPs as ConvTranspose, but
 * on onnxruntime's much faster Conv kernels. Returns undefined where the form does not
 * apply (dilation, unequal strides, padding that would need cropping).
 */
function polyphaseInputGrad(b: GraphBuilder, gy: string, w: Tensor, group: number, geo: WindowGeometry): string | undefined {
  if (geo.kernel.length !== 2 || geo.dilations.some((d) => d !== 1)) return undefined;
  const s = geo.strides[0]!;
  if (s < 2 || geo.strides[1] !== s) return undefined;
  const [cout, cinPerGroup] = w.dims as [number, number];
  const coutPerGroup = cout / group;
  const cin = cinPerGroup * group;
  const [kh, kw] = geo.kernel as [number, number];
  const src = w.toFloat32();
  const blocks = geo.inSize.map((size) => Math.ceil(size / s));
  const phases: string[] = [];
  for (let ry = 0; ry < s; ry++) {
    for (let rx = 0; rx < s; rx++) {
      const ty = phaseTaps(kh, s, geo.pads[0]!, ry);
      const tx = phaseTaps(kw, s, geo.pads[1]!, rx);
      if (ty.kernel.length === 0 || tx.kernel.length === 0) {
        phases.push('');
        continue;
      }
      const lens = [ty.kernel.length, tx.kernel.length];
      const firsts = [ty.first, tx.first];
      const pads = [0, 1].map((a) => -firsts[a]!);
      const padsEnd = [0, 1].map((a) => blocks[a]! + lens[a]! - 1 - geo.outSize[a]! + firsts[a]!);
      if (pads.some((p) => p < 0) || padsEnd.some((p) => p < 0)) return undefined;
      const data = new Float32Array(cin * coutPerGroup * lens[0]! * lens[1]!);
      for (let g = 0; g < group; g++) {
        for (let i = 0; i < cinPerGroup; i++) {
          for (let o = 0; o < coutPerGroup; o++) {
            for (let jy = 0; jy < lens[0]!; jy++) {
              for (let jx = 0; jx < lens[1]!; jx++) {
                const from = (((g * coutPerGroup + o) * cinPerGroup + i) * kh + ty.kernel[jy]!) * kw + tx.kernel[jx]!;
                const to = (((g * cinPerGroup + i) * coutPerGroup + o) * lens[0]! + jy) * lens[1]! + jx;
                data[to] = src[from]!;
              }
            }
          }
        }
      }
      phases.push(
        b.op1('Conv', [gy, b.floatTensor('conv_grad_phase_weight', [cin, coutPerGroup, ...lens], data)], [
          attr.int('group', group),
          attr.ints('kernel_shape', lens),
          attr.ints('pads', [...pads, ...padsEnd]),
        ], 'conv_grad_phase'),
      );
    }
  }
  const live = phases.find(Boolean);
  if (!live) return undefined;
  const zeros = phases.some((p) => !p) ? b.zerosLike(live) : '';
  const interleaved = b.op1('DepthToSpace', [b.op1('Concat', phases.map((p) => p || zeros), [attr.int('axis', 1)])], [
    attr.int('blocksize', s),
    attr.string('mode', 'DCR'),
  ], 'conv_grad_interleave');
  const full = blocks.map((n) => n * s);
  if (full.every((n, a) => n === geo.inSize[a])) return interleaved;
  return b.slice(interleaved, [0, 0], geo.inSize, [2, 3]);
}
