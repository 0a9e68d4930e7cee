/**
 * The Conv input-gradient forms (flipped Conv for stride 1, polyphase Conv + DepthToSpace
 * for strided, ConvTranspose elsewhere) against a direct loop over the definition, on
 * geometries the parity fixtures do not all reach (odd sizes, k=5, s=3, groups).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/compile/builder.js';
import { convInputGrad } from '../../src/compile/rules/conv.js';
import { attr, type Model, type Node } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/model-io.js';
import { DataType } from '../../src/onnx/schema.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { windowGeometry } from '../../src/onnx/window-geometry.js';

interface Case { cin: number; cout: number; group: number; k: number; s: number; p: number; size: number; d?: number }

function random(n: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => {
    x = (x * 16807) % 2147483647;
    return x / 2147483647 - 0.5;
  });
}

/** dX[n,ci,y,x] = Σ dY[n,co,oy,ox]·W[co,ci',ky,kx] over s·oy − p + d·ky = y (and x alike). */
function reference(c: Case, w: Float32Array, dy: Float32Array, out: number): Float32Array {
  const d = c.d ?? 1;
  const cinG = c.cin / c.group;
  const coutG = c.cout / c.group;
  const dx = new Float32Array(c.cin * c.size * c.size);
  for (let co = 0; co < c.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < out; oy++) for (let ox = 0; ox < out; ox++) {
      const gv = dy[(co * out + oy) * out + ox]!;
      for (let i = 0; i < cinG; i++) for (let ky = 0; ky < c.k; ky++) for (let kx = 0; kx < c.k; kx++) {
        const y = oy * c.s - c.p + d * ky;
        const x = ox * c.s - c.p + d * kx;
        if (y < 0 || x < 0 || y >= c.size || x >= c.size) continue;
        dx[((g * cinG + i) * c.size + y) * c.size + x]! += gv * w[((co * cinG + i) * c.k + ky) * c.k + kx]!;
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
  { cin: 6, cout: 6, group: 6, k: 3, s: 2, p: 1, size: 9 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 3, p: 0, size: 10 },
  { cin: 3, cout: 4, group: 1, k: 4, s: 2, p: 1, size: 8 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 1, p: 2, size: 8, d: 2 },
  { cin: 3, cout: 4, group: 1, k: 3, s: 2, p: 2, size: 9, d: 2 },
];

describe('Conv input gradient', () => {
  for (const c of CASES) {
    it(`k=${c.k} s=${c.s} p=${c.p} d=${c.d ?? 1} groups=${c.group} on ${c.size}x${c.size}`, async () => {
      const forward: Node = {
        name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'],
        attributes: [attr.ints('strides', [c.s, c.s]), attr.ints('pads', [c.p, c.p, c.p, c.p]), attr.int('group', c.group), attr.ints('dilations', [c.d ?? 1, c.d ?? 1])],
      };
      const geo = windowGeometry(forward, [c.k, c.k], [c.size, c.size]);
      const out = geo.outSize[0]!;
      const w = Tensor.float32('w', [c.cout, c.cin / c.group, c.k, c.k], random(c.cout * (c.cin / c.group) * c.k * c.k, 7));
      const b = new GraphBuilder(17, { tensors: new Map(), constants: new Map([['w', w]]) }, 'g', new Set());
      const dxName = convInputGrad(b, 'dy', 'w', c.group, geo);
      const model: Model = {
        irVersion: 8, opsets: [{ domain: '', version: 17 }], extra: {},
        graph: {
          name: 'grad', nodes: b.nodes, valueInfo: [],
          inputs: [{ name: 'dy', elemType: DataType.FLOAT, shape: [1, c.cout, out, out] }],
          outputs: [{ name: dxName, elemType: DataType.FLOAT }],
          // The stride-1 form bakes its own weights; 'w' is an initializer only where read.
          initializers: new Map([...b.initializers, ...(b.nodes.some((n) => n.inputs.includes('w')) ? [['w', w] as const] : [])]),
        },
      };
      const dy = random(c.cout * out * out, 11);
      const session = await ort.InferenceSession.create(encodeModel(model));
      const result = (await session.run({ dy: new ort.Tensor('float32', dy, [1, c.cout, out, out]) }))[dxName]!;
      await session.release();
      expect(result.dims).toEqual([1, c.cin, c.size, c.size]);
      const expected = reference(c, w.toFloat32(), dy, out);
      const got = result.data as Float32Array;
      expected.forEach((v, i) => expect(Math.abs(got[i]! - v), `element ${i}`).toBeLessThanOrEqual(1e-5));
    });
  }
});
