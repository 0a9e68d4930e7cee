/**
 * Pattern mode where its shortcuts do not hold: a pruned model (zero weights in every
 * Conv and in the classifier) takes the binary-convolution path and still gives the float
 * mode's zero ratios exactly; a node without an exact pattern rule (a cubic Resize, whose
 * negative weights can cancel) makes the GAIA-Z head fall back to the float backward,
 * with a note saying which node and why.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { patternRules } from '../../src/compile/pattern/index.js';
import { vjpRules } from '../../src/compile/rules/index.js';
import { attr, type Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const heads = ['logits', 'gaia_z', 'gaia_z_ratios'] as const;

/**
 * Zeroes the weights of every Conv and Gemm whose magnitude is below the 40th percentile
 * (`few`: only the 3 smallest of each, so that they touch a few input channels).
 */
function pruned(model: Model, few = false): Model {
  const weights = new Set(model.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').map((n) => n.inputs[1]!));
  const initializers = new Map(
    [...model.graph.initializers].map(([name, t]) => {
      if (!weights.has(name)) return [name, t] as const;
      const data = t.toFloat32().slice();
      const cut = [...data].map(Math.abs).sort((a, b) => a - b)[few ? 3 : Math.floor(0.4 * data.length)]!;
      data.forEach((v, i) => Math.abs(v) < cut && (data[i] = 0));
      return [name, Tensor.float32(name, t.dims, data)] as const;
    }),
  );
  return { ...model, graph: { ...model.graph, initializers } };
}

for (const arch of ['resnet_basic', 'resnet_bottleneck', 'densenet']) {
  it(`a ${arch} with 3 zero weights per layer (the shortcut but for the channels they touch) gives the float mode's zero ratios exactly`, async () => {
    const dir = join(FIXTURES, 'parity', arch);
    const model = pruned(await loadModel(join(dir, 'model.folded.onnx')), true);
    const input = readNpy(join(dir, 'input.npy'));
    const pattern = compileScoringGraph(model, { heads, gaiaZMode: 'pattern' });
    expect(pattern.model.graph.nodes.some((n) => n.outputs[0]!.includes('pattern_few_zeros'))).toBe(true);
    const p = await runModel(pattern.model, input);
    const f = await runModel(compileScoringGraph(model, { heads }).model, input);
    expect([...p.gaia_z_ratios!.data]).toEqual([...f.gaia_z_ratios!.data]);
    expect([...p.gaia_z!.data]).toEqual([...f.gaia_z!.data]);
  });
}

for (const arch of ['resnet_basic', 'mobilenetv2', 'densenet']) {
  it(`a pruned ${arch} (40% zero weights) gives the float mode's zero ratios exactly`, async () => {
    const dir = join(FIXTURES, 'parity', arch);
    const model = pruned(await loadModel(join(dir, 'model.folded.onnx')));
    const input = readNpy(join(dir, 'input.npy'));
    const pattern = compileScoringGraph(model, { heads, gaiaZMode: 'pattern' });
    expect(pattern.gaiaZMode).toBe('pattern');
    const p = await runModel(pattern.model, input);
    const f = await runModel(compileScoringGraph(model, { heads }).model, input);
    expect([...p.gaia_z_ratios!.data]).toEqual([...f.gaia_z_ratios!.data]);
    expect([...p.gaia_z!.data]).toEqual([...f.gaia_z!.data]);
  });
}

it('falls back to the float backward, with a note, where a node has no exact pattern rule', async () => {
  const dir = join(FIXTURES, 'zoo', 'fpn_resize');
  const model = await loadModel(join(dir, 'torchscript', 'model.onnx'));
  const cubic: Model = {
    ...model,
    graph: {
      ...model.graph,
      nodes: model.graph.nodes.map((n) =>
        n.opType === 'Resize' ? { ...n, attributes: [...n.attributes.filter((a) => a.name !== 'mode'), attr.string('mode', 'cubic')] } : n,
      ),
    },
  };
  const pattern = compileScoringGraph(cubic, { heads, gaiaZMode: 'pattern' });
  expect(pattern.gaiaZMode).toBe('float');
  expect(pattern.notes.join('\n')).toMatch(/gaia_z: pattern mode cannot be proven exact here \(Resize node ".*" resizes with cubic weights/);
  const float = compileScoringGraph(cubic, { heads });
  const input = readNpy(join(dir, 'input.npy'));
  const p = await runModel(pattern.model, input);
  const f = await runModel(float.model, input);
  expect([...p.gaia_z!.data]).toEqual([...f.gaia_z!.data]);
});

it('has a pattern rule for every op the float backward differentiates', () => {
  expect([...patternRules.keys()].sort()).toEqual([...vjpRules.keys()].sort());
});
