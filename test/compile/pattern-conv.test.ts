/**
 * The Conv pattern rule (src/compile/pattern/conv.ts) against a direct loop over the
 * definition: input position (ci, y, x) has a non-zero gradient term exactly where some
 * W[co, ci', ky, kx] ≠ 0 meets a non-zero output gradient at s·oy − p + d·ky = y. Covers
 * the shared-footprint shortcut (dense, grouped with several channels per group, depthwise
 * with a multiplier; strided, dilated, padded beyond the kernel, each form of the footprint's
 * MaxPool) and the binary convolution for weights with zeros, including a whole zero
 * kernel slice.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/compile/builder.js';
import { convPatternRules } from '../../src/compile/pattern/conv.js';
import type { PatternContext } from '../../src/compile/pattern/types.js';
import { attr, type Model, type Node, type Shape } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/model-io.js';
import { DataType } from '../../src/onnx/schema.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { windowGeometry } from '../../src/onnx/window-geometry.js';

interface Case { cin: number; cout: number; group: number; k: number; s: number; p: number; size: number; d?: number; zeros?: 'some' | 'slice' | 'few' }

function random(n: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => {
    x = (x * 16807) % 2147483647;
    return x / 2147483647 - 0.5;
  });
}

function referencePattern(c: Case, w: Float32Array, dy: Float32Array, out: number, batch: number): Uint8Array {
  const d = c.d ?? 1;
  const cinG = c.cin / c.group;
  const coutG = c.cout / c.group;
  const dx = new Uint8Array(batch * c.cin * c.size * c.size);
  for (let n = 0; n < batch; n++) for (let co = 0; co < c.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < out; oy++) for (let ox = 0; ox < out; ox++) {
      if (dy[((n * c.cout + co) * out + oy) * out + ox] === 0) continue;
      for (let i = 0; i < cinG; i++) for (let ky = 0; ky < c.k; ky++) for (let kx = 0; kx < c.k; kx++) {
        const y = oy * c.s - c.p + d * ky;
        const x = ox * c.s - c.p + d * kx;
        if (y < 0 || x < 0 || y >= c.size || x >= c.size) continue;
        if (w[((co * cinG + i) * c.k + ky) * c.k + kx] === 0) continue;
        dx[(((n * c.cin) + g * cinG + i) * c.size + y) * c.size + x] = 1;
      }
    }
  }
  return dx;
}

const CASES: Case[] = [
  { cin: 4, cout: 6, group: 1, k: 3, s: 1, p: 1, size: 7 },
  { cin: 4, cout: 6, group: 1, k: 3, s: 2, p: 1, size: 7 },
  { cin: 4, cout: 6, group: 1, k: 3, s: 2, p: 1, size: 8 },
  { cin: 4, cout: 6, group: 1, k: 1, s: 2, p: 0, size: 7 },
  { cin: 4, cout: 4, group: 2, k: 5, s: 2, p: 2, size: 9 },
  { cin: 6, cout: 12, group: 3, k: 3, s: 1, p: 1, size: 6 },
  { cin: 6, cout: 6, group: 6, k: 3, s: 2, p: 1, size: 9 },
  { cin: 4, cout: 8, group: 4, k: 3, s: 1, p: 1, size: 7 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 3, p: 0, size: 10 },
  { cin: 3, cout: 4, group: 1, k: 4, s: 2, p: 1, size: 8 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 1, p: 2, size: 8, d: 2 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 2, p: 2, size: 9, d: 2 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 1, p: 3, size: 6 },
  // The footprint's MaxPool forms (pattern/conv.ts spread): boxes from a nearest
  // upsampling, a zero interleave, one-tap windows, pads beyond the pool's and crops.
  { cin: 4, cout: 4, group: 4, k: 5, s: 2, p: 2, size: 14 },
  { cin: 4, cout: 6, group: 1, k: 1, s: 1, p: 0, size: 5 },
  { cin: 4, cout: 6, group: 1, k: 2, s: 2, p: 0, size: 8 },
  { cin: 4, cout: 6, group: 1, k: 3, s: 2, p: 0, size: 9 },
  { cin: 4, cout: 6, group: 1, k: 2, s: 1, p: 0, size: 7 },
  { cin: 2, cout: 1, group: 1, k: 5, s: 1, p: 0, size: 12 },
  { cin: 4, cout: 6, group: 1, k: 3, s: 2, p: 3, size: 8 },
  { cin: 4, cout: 6, group: 1, k: 1, s: 3, p: 0, size: 7 },
  { cin: 4, cout: 6, group: 2, k: 3, s: 3, p: 1, size: 11, d: 2 },
  { cin: 4, cout: 6, group: 1, k: 3, s: 1, p: 1, size: 7, zeros: 'some' },
  { cin: 4, cout: 6, group: 1, k: 3, s: 2, p: 1, size: 8, zeros: 'slice' },
  { cin: 6, cout: 6, group: 6, k: 3, s: 1, p: 1, size: 7, zeros: 'some' },
  // Zeros in a few input channels (the shortcut elsewhere): input channel 1's centre tap
  // for every output channel, and one weight of channel 6.
  { cin: 8, cout: 6, group: 1, k: 3, s: 1, p: 1, size: 7, zeros: 'few' },
  { cin: 8, cout: 6, group: 1, k: 3, s: 2, p: 1, size: 9, zeros: 'few' },
];

describe('Conv pattern rule', () => {
  for (const c of CASES) {
    it(`k=${c.k} s=${c.s} p=${c.p} d=${c.d ?? 1} groups=${c.group} ${c.cin}→${c.cout} on ${c.size}x${c.size}${c.zeros ? ` (zero weights: ${c.zeros})` : ''}`, async () => {
      const batch = 2;
      const forward: Node = {
        name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'],
        attributes: [attr.ints('strides', [c.s, c.s]), attr.ints('pads', [c.p, c.p, c.p, c.p]), attr.int('group', c.group), attr.ints('dilations', [c.d ?? 1, c.d ?? 1])],
      };
      const geo = windowGeometry(forward, [c.k, c.k], [c.size, c.size]);
      const out = geo.outSize[0]!;
      const cinG = c.cin / c.group;
      const wData = random(c.cout * cinG * c.k * c.k, 7);
      if (c.zeros === 'some') wData.forEach((_, i) => i % 5 === 2 && (wData[i] = 0));
      if (c.zeros === 'slice') wData.fill(0, 0, cinG * c.k * c.k); // output channel 0 reads nothing
      if (c.zeros === 'few') {
        for (let o = 0; o < c.cout; o++) wData[((o * cinG + 1) * c.k + 1) * c.k + 1] = 0;
        wData[((2 * cinG + 6) * c.k + 0) * c.k + 2] = 0;
      }
      const w = Tensor.float32('w', [c.cout, cinG, c.k, c.k], wData);
      const shapes = new Map<string, Shape>([
        ['x', [batch, c.cin, c.size, c.size]],
        ['y', [batch, c.cout, out, out]],
        ['w', [c.cout, cinG, c.k, c.k]],
        ['dy', [batch, c.cout, out, out]],
      ]);
      const info = { tensors: new Map([...shapes].map(([n, s]) => [n, { elemType: DataType.FLOAT, shape: s }])), constants: new Map([['w', w]]) };
      const b = new GraphBuilder(17, info, 'g', new Set());
      const patternShapes = new Map<string, Shape>();
      const ctx: PatternContext = {
        b, node: forward, gradOutputs: ['dy'], needsGrad: [true, false],
        shape: (n) => b.shapeOf(n)!,
        patternShape: (n) => patternShapes.get(n) ?? b.shapeOf(n)!,
        setPatternShape: (n, s) => patternShapes.set(n, s),
      };
      const dx = convPatternRules.Conv!.emit(ctx)[0]!;
      const model: Model = {
        irVersion: 8, opsets: [{ domain: '', version: 17 }], extra: {},
        graph: {
          name: 'pattern', nodes: b.nodes, valueInfo: [],
          inputs: [{ name: 'dy', elemType: DataType.FLOAT, shape: [batch, c.cout, out, out] }],
          outputs: [{ name: dx, elemType: DataType.FLOAT }],
          initializers: b.initializers,
        },
      };
      // A sparse 0/1 output pattern, so that footprints do not cover everything.
      const dy = Float32Array.from(random(batch * c.cout * out * out, 11), (v) => (v > 0.47 ? 1 : 0));
      const session = await ort.InferenceSession.create(encodeModel(model));
      const result = (await session.run({ dy: new ort.Tensor('float32', dy, [batch, c.cout, out, out]) }))[dx]!;
      await session.release();
      const got = result.data as Float32Array;
      const [, ch, h, wd] = result.dims as number[];
      expect([h, wd]).toEqual([c.size, c.size]);
      expect([1, c.cin]).toContain(ch);
      const expected = referencePattern(c, wData, dy, out, batch);
      let ones = 0;
      expected.forEach((v, i) => {
        ones += v;
        // A one-channel result holds the pattern shared by every input channel.
        const n = Math.floor(i / (c.cin * c.size * c.size));
        const pos = i % (c.size * c.size);
        const ci = Math.floor(i / (c.size * c.size)) % c.cin;
        const j = ((n * ch! + (ch === 1 ? 0 : ci)) * c.size * c.size) + pos;
        expect(got[j], `n=${n} ci=${ci} pos=${pos}`).toBe(v);
      });
      expect(ones).toBeGreaterThan(0);
      expect(ones).toBeLessThan(expected.length);
      if (c.zeros === 'few') {
        // The zeros matter here: the shared footprint alone would be wrong somewhere.
        const shortcut = referencePattern(c, wData.map((v) => (v === 0 ? 1 : v)), dy, out, batch);
        expect(expected.some((v, i) => v !== shortcut[i])).toBe(true);
      }
    });
  }
});
