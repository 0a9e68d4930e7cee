/**
 * Pattern mode's blocked lowering (src/compile/pattern/blocked.ts) against its plain NCHW
 * lowering and the float backward: the same 0/1 pattern at every tap, bit for bit, with
 * inputs on the edges of the scaled masks (the smallest subnormal, ±0, products that
 * overflow), through every blocked op: ReLU and HardSwish masks after a depthwise Conv and
 * after a footprint, the
 * one-channel pattern repeated by a Conv, footprints as a depthwise Conv of ones (channels
 * not a multiple of 16) and as a MaxPool (a multiple of 16), a stride-2 footprint, counts
 * as separable Convs and as a GlobalAveragePool, the channel-OR as a Conv. Also: a network
 * without grouped convolutions compiles exactly as before (the rule of blocked.ts).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { PatternLayout } from '../../src/compile/pattern/index.js';
import { attr, type Model, type Node } from '../../src/onnx/graph.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const ZOO = join(import.meta.dirname, '..', 'fixtures', 'zoo');
const H = 4;
const W = 4;

/**
 * input [b, C, 4, 4] → depthwise 1×1 Conv of weight 1 (the activation sees the input
 * itself) → act → dense 1×1 Conv → Relu → depthwise 3×3 Conv (stride) of positive weights →
 * Relu → dense 1×1 Conv to 4 channels → GlobalAveragePool → Flatten → Gemm.
 */
function model(channels: number, act: 'Relu' | 'HardSwish', stride: number): Model {
  const k = 3;
  const dw = Float32Array.from({ length: channels * k * k }, (_, i) => 0.25 + (i % 7) / 8);
  const init = [
    Tensor.float32('id', [channels, 1, 1, 1], new Array<number>(channels).fill(1)),
    Tensor.float32('dw', [channels, 1, k, k], dw),
    Tensor.float32('ew', [channels, channels, 1, 1], Array.from({ length: channels * channels }, (_, i) => Math.cos(i * 0.3) + 1.5)),
    Tensor.float32('pw', [4, channels, 1, 1], Array.from({ length: 4 * channels }, (_, i) => 0.5 + Math.abs(Math.sin(i + 1)))),
    Tensor.float32('fc', [3, 4], Array.from({ length: 12 }, (_, i) => 0.5 + i / 12)),
  ];
  const node = (name: string, opType: string, inputs: string[], attributes: Node['attributes'] = []): Node => ({
    name,
    opType,
    domain: '',
    inputs,
    outputs: [name],
    attributes,
  });
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    extra: {},
    graph: {
      name: 'g',
      nodes: [
        node('x', 'Conv', ['input', 'id'], [attr.int('group', channels)]),
        node('a', act, ['x']),
        node('e', 'Conv', ['a', 'ew']),
        node('ea', 'Relu', ['e']),
        node('d', 'Conv', ['ea', 'dw'], [attr.int('group', channels), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [stride, stride])]),
        node('r', 'Relu', ['d']),
        node('p', 'Conv', ['r', 'pw']),
        node('gap', 'GlobalAveragePool', ['p']),
        node('f', 'Flatten', ['gap']),
        node('logits', 'Gemm', ['f', 'fc'], [attr.int('transB', 1)]),
      ],
      inputs: [{ name: 'input', elemType: 1, shape: ['batch', channels, H, W] }],
      outputs: [{ name: 'logits', elemType: 1, shape: ['batch', 3] }],
      initializers: new Map(init.map((t) => [t.name, t])),
      valueInfo: [],
    },
  };
}

/**
 * Inputs on the edges of the scaled masks (the smallest subnormal, ±0, the smallest
 * normal, values whose scaled product overflows to inf), then ordinary values. No ±inf:
 * onnxruntime's blocked kernels turn an infinite activation into NaN in their zero-padded
 * channels (0 · inf), in the forward convolutions as much as here, and such a frame has
 * NaN logits in either lowering.
 */
function edgeInputs(size: number): Float32Array {
  const edges = [2 ** -149, -(2 ** -149), 0, -0, 2 ** -126, 1e30, -1e30, 1e-30, -1e-30, 1.5, -1.5, -3, -2.9, 2 ** -20, 7, -7];
  return Float32Array.from({ length: size }, (_, i) => (i < edges.length * 3 ? edges[i % edges.length]! : Math.sin(i * 0.77) * 4));
}

/** Every tap's pattern (1 where its gradient is non-zero) and the compiled graph. */
async function tapPatterns(m: Model, input: Float32Array, mode: 'float' | 'pattern', layout: PatternLayout) {
  const compiled = compileScoringGraph(m, { taps: 'op:Conv', heads: ['logits', 'gaia_z', 'gaia_z_ratios'], gaiaZMode: mode, debug: true, headSettings: { patternLayout: layout } });
  const shape = [2, m.graph.inputs[0]!.shape![1] as number, H, W];
  const out = await runModel(compiled.model, { data: input, shape });
  const grads = Object.keys(out)
    .filter((k) => k.startsWith('debug/grad/'))
    .sort()
    .map((k) => [...out[k]!.data].map((v) => (v !== 0 ? 1 : 0)));
  return { grads, ratios: out.gaia_z_ratios!.data, gaiaZ: out.gaia_z!.data, compiled };
}

/** The compiler's hints of the nodes of one op type it added (gaia/<hint>_node_<n>). */
const hints = (m: Model, opType: string) =>
  m.graph.nodes.filter((n) => n.opType === opType && n.name.startsWith('gaia/')).map((n) => n.name.replace(/^gaia\//, '').replace(/_node_\d+$/, ''));

describe('pattern mode, blocked lowering', () => {
  for (const [channels, act, stride] of [
    [24, 'Relu', 1],
    [24, 'Relu', 2],
    [32, 'Relu', 1],
    [24, 'HardSwish', 1],
    [32, 'HardSwish', 2],
  ] as const) {
    it(`${act}, ${channels} channels, stride ${stride}: the same patterns as the NCHW lowering${act === 'Relu' ? ' and the float backward' : ''}`, async () => {
      const m = model(channels, act, stride);
      const input = edgeInputs(2 * channels * H * W);
      const blocked = await tapPatterns(m, input, 'pattern', 'blocked');
      const nchw = await tapPatterns(m, input, 'pattern', 'nchw');
      expect(blocked.grads).toEqual(nchw.grads);
      expect([...blocked.ratios]).toEqual([...nchw.ratios]);
      expect([...blocked.gaiaZ]).toEqual([...nchw.gaiaZ]);
      // HardSwish's output mask differs from autograd at −3 and ±0 (output-masks.test.ts).
      if (act === 'Relu') expect(blocked.grads).toEqual((await tapPatterns(m, input, 'float', 'nchw')).grads);
      // The blocked ops were used, the plain ones were not.
      const convs = hints(blocked.compiled.model, 'Conv');
      // The ReLUs after the depthwise and the dense Conv, and the first activation's mask.
      expect(convs.filter((h) => h.startsWith('relu_mask_scale')).length).toBe(act === 'Relu' ? 3 : 2);
      if (act === 'HardSwish') expect(convs.some((h) => h.startsWith('hardswish_mask_scale'))).toBe(true);
      expect(convs.some((h) => h.startsWith('pattern_repeat'))).toBe(true);
      expect(convs.some((h) => h.startsWith('pattern_channel_sum'))).toBe(true);
      if (channels % 16 === 0) {
        expect(hints(blocked.compiled.model, 'GlobalAveragePool').some((h) => h.startsWith('pattern_count_mean'))).toBe(true);
        expect(hints(blocked.compiled.model, 'MaxPool').length).toBeGreaterThan(0);
      } else {
        expect(convs.filter((h) => h.startsWith('pattern_count')).length).toBeGreaterThan(0);
        expect(convs.some((h) => h.startsWith('pattern_footprint_count'))).toBe(true);
      }
      expect(hints(nchw.compiled.model, 'Conv')).toEqual([]);
    });
  }

  it('MobileNetV3-Small (zoo): the same zero ratios and GAIA-Z in both lowerings, bit for bit', async () => {
    const m = await loadModel(join(ZOO, 'mobilenet_v3_small_w025', 'torchscript', 'model.onnx'));
    const input = readNpy(join(ZOO, 'mobilenet_v3_small_w025', 'input.npy'));
    const run = async (layout: PatternLayout) => {
      const c = compileScoringGraph(m, { heads: ['logits', 'gaia_z', 'gaia_z_ratios'], gaiaZMode: 'pattern', headSettings: { patternLayout: layout } });
      return { out: await runModel(c.model, { data: input.data, shape: [...input.shape] }), model: c.model };
    };
    const [blocked, nchw] = [await run('blocked'), await run('nchw')];
    expect([...blocked.out.gaia_z_ratios!.data]).toEqual([...nchw.out.gaia_z_ratios!.data]);
    expect([...blocked.out.gaia_z!.data]).toEqual([...nchw.out.gaia_z!.data]);
    expect(hints(blocked.model, 'Conv').some((h) => h.startsWith('relu_mask_scale'))).toBe(true);
  });

  it('a network without grouped convolutions compiles to the same graph in both lowerings', async () => {
    const m = await loadModel(join(import.meta.dirname, '..', '..', 'models', 'fmnist-resnet18', 'model.onnx'));
    const graph = (layout: PatternLayout) =>
      encodeModel(compileScoringGraph(m, { heads: ['logits', 'gaia_z'], gaiaZMode: 'pattern', headSettings: { patternLayout: layout } }).model);
    expect(Buffer.from(graph('blocked')).equals(Buffer.from(graph('nchw')))).toBe(true);
  });
});
