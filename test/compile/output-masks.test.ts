/**
 * Pattern mode's activation masks read from the activation's output
 * (src/compile/pattern/output-masks.ts) against the float backward's zeros and
 * pattern-exact's input-derived masks, on inputs placed at every point where the two can
 * differ: HardSwish at −3 and ±0 (output 0, slope ≠ 0) and at the float32 inputs near −1.5
 * whose slope rounds to 0 (output ≠ 0); Clip (exact either way) and HardSigmoid at,
 * beyond and within rounding of its bounds. Also: the compiled pattern graph leaves the activation's input to
 * the activation alone, so onnxruntime can fuse it into the Conv.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { GaiaZMode } from '../../src/compile/heads.js';
import { attr, type Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

/** A float32 input near −1.5 where torch's HardSwish slope x·(1/3) + 1/2 rounds to 0. */
function slopeZeroInput(): number {
  const f = new Float32Array([-1.5]);
  const bits = new Int32Array(f.buffer);
  const base = bits[0]!;
  for (let d = 0; d < 100000; d++) {
    for (const s of [d, -d]) {
      bits[0] = base + s;
      if (Math.fround(Math.fround(f[0]! * Math.fround(1 / 3)) + 0.5) === 0) return f[0]!;
    }
  }
  throw new Error('no slope-zero input near −1.5');
}

/** x (1×1×1×8) → Conv 1×1 (weight 1: the tap is x itself) → activation → Flatten → Gemm (positive weights). */
function model(act: { opType: string; inputs?: string[]; attributes?: ReturnType<typeof attr.float>[] }): Model {
  const init = [
    Tensor.float32('w', [1, 1, 1, 1], [1]),
    Tensor.float32('b', [1], [0]),
    Tensor.float32('fc', [2, 8], Array.from({ length: 16 }, (_, i) => 0.5 + i / 16)),
    Tensor.float32('lo', [], [0]),
    Tensor.float32('hi', [], [6]),
  ];
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    extra: {},
    graph: {
      name: 'g',
      nodes: [
        { name: 'conv', opType: 'Conv', domain: '', inputs: ['input', 'w', 'b'], outputs: ['x'], attributes: [] },
        { name: 'act', opType: act.opType, domain: '', inputs: ['x', ...(act.inputs ?? [])], outputs: ['y'], attributes: act.attributes ?? [] },
        { name: 'flat', opType: 'Flatten', domain: '', inputs: ['y'], outputs: ['f'], attributes: [] },
        { name: 'fc', opType: 'Gemm', domain: '', inputs: ['f', 'fc'], outputs: ['logits'], attributes: [attr.int('transB', 1)] },
      ],
      inputs: [{ name: 'input', elemType: 1, shape: ['batch', 1, 1, 8] }],
      outputs: [{ name: 'logits', elemType: 1, shape: ['batch', 2] }],
      initializers: new Map(init.map((t) => [t.name, t])),
      valueInfo: [],
    },
  };
}

/** The tap's gradient pattern (1 where non-zero) in each mode, and the compiled graph. */
async function patterns(m: Model, values: number[], mode: GaiaZMode) {
  const debug = compileScoringGraph(m, { taps: 'op:Conv', heads: ['logits', 'gaia_z'], gaiaZMode: mode, debug: true });
  const out = await runModel(debug.model, { data: Float32Array.from(values), shape: [1, 1, 1, 8] });
  // The graph the agent runs (debug's outputs read the tap too).
  const compiled = compileScoringGraph(m, { taps: 'op:Conv', heads: ['logits', 'gaia_z'], gaiaZMode: mode });
  return { pattern: [...out['debug/grad/0']!.data].map((v) => (v !== 0 ? 1 : 0)), compiled };
}

async function allModes(m: Model, values: number[]) {
  const [float, exact, output] = await Promise.all([patterns(m, values, 'float'), patterns(m, values, 'pattern-exact'), patterns(m, values, 'pattern')]);
  return { float: float.pattern, exact: exact.pattern, output: output.pattern, graphs: { exact: exact.compiled, output: output.compiled } };
}

/** Nodes other than the activation that read its input. */
const readersOfX = (m: Model) => m.graph.nodes.filter((n) => n.name !== 'act' && n.inputs.includes('x')).map((n) => n.opType);

describe('activation masks from the output', () => {
  it('HardSwish: differs from autograd exactly at −3, ±0 and the slope-zero inputs near −1.5', async () => {
    const s = slopeZeroInput();
    const values = [-4, -3, s, -0, 0, 1, -2, 3.5];
    const r = await allModes(model({ opType: 'HardSwish' }), values);
    expect(r.exact).toEqual([0, 1, 0, 1, 1, 1, 1, 1]);
    expect(r.float).toEqual(r.exact);
    expect(r.output).toEqual([0, 0, 1, 0, 0, 1, 1, 1]);
    // The fused kernel can only be kept when nothing but the HardSwish reads the Conv's output.
    expect(readersOfX(r.graphs.output.model)).toEqual([]);
    expect(readersOfX(r.graphs.exact.model).length).toBeGreaterThan(0);
  });

  it('HardSwish: equal to autograd away from those points', async () => {
    const values = [-7, -3.5, -2.9, -1.4, -0.001, 0.001, 2.9, 30];
    const r = await allModes(model({ opType: 'HardSwish' }), values);
    expect(r.output).toEqual(r.float);
    expect(r.exact).toEqual(r.float);
  });

  it('Clip (ReLU6): exact from the output in both pattern modes, bounds included', async () => {
    const values = [-1, 0, 1e-30, 3, 6, 5.9999995, 7, -0];
    const r = await allModes(model({ opType: 'Clip', inputs: ['lo', 'hi'] }), values);
    expect(r.float).toEqual([0, 0, 1, 1, 0, 1, 0, 0]);
    expect(r.exact).toEqual(r.float);
    expect(r.output).toEqual(r.float);
    expect(readersOfX(r.graphs.output.model)).toEqual([]);
    expect(readersOfX(r.graphs.exact.model)).toEqual([]);
  });

  it('HardSigmoid: equal to autograd at and beyond its bounds, not within rounding inside them', async () => {
    // 0.2 · 2.4999998 + 0.5 rounds to 1 in float32: the output is saturated, the input is not.
    const values = [-3, -2.5, -2.4999998, 0, 2.4999998, 2.5, 3, -0];
    const r = await allModes(model({ opType: 'HardSigmoid', attributes: [attr.float('alpha', 0.2), attr.float('beta', 0.5)] }), values);
    expect(r.float).toEqual([0, 0, 1, 1, 1, 0, 0, 1]);
    expect(r.exact).toEqual(r.float);
    expect(r.output).toEqual([0, 0, 1, 1, 0, 0, 0, 1]);
    expect(readersOfX(r.graphs.output.model)).toEqual([]);
  });
});

/** The committed fixtures with HardSwish or HardSigmoid (bench/activation-masks.ts counts every model). */
const FIXTURES = [
  { model: 'parity/op_zoo/model.onnx', input: 'parity/op_zoo/input.npy' },
  { model: 'parity/op_zoo/model.folded.onnx', input: 'parity/op_zoo/input.npy' },
  { model: 'zoo/mobilenet_v3_small_w025/torchscript/model.onnx', input: 'zoo/mobilenet_v3_small_w025/input.npy', taps: 'bn' },
  { model: 'zoo/mobilenet_v3_small_w025/dynamo/model.onnx', input: 'zoo/mobilenet_v3_small_w025/input.npy', taps: 'bn' },
];

describe.each(FIXTURES)('pattern vs pattern-exact on $model', ({ model: file, input: npy, taps }) => {
  it('gives the same zero ratios (no input of these frames sits where the masks differ)', async () => {
    const root = join(import.meta.dirname, '..', 'fixtures');
    const m = await loadModel(join(root, file));
    const input = readNpy(join(root, npy));
    const run = async (mode: GaiaZMode) => {
      const c = compileScoringGraph(m, { taps, heads: ['gaia_z', 'gaia_z_ratios'], gaiaZMode: mode });
      expect(c.gaiaZMode).toBe(mode);
      return runModel(c.model, input);
    };
    const [out, exact] = [await run('pattern'), await run('pattern-exact')];
    expect([...out.gaia_z_ratios!.data]).toEqual([...exact.gaia_z_ratios!.data]);
    expect([...out.gaia_z!.data]).toEqual([...exact.gaia_z!.data]);
  });
});
