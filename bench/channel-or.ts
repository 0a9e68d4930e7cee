/**
 * The OR over the channels of a 0/1 pattern (what a dense Conv's input pattern needs,
 * src/compile/pattern/conv.ts channelOr), spelled four ways in onnxruntime-node on this CPU,
 * on MobileNet-sized expanded activations. Each result is [B, 1, H, W].
 *
 *   npm run build && node dist/bench/channel-or.js [--batch 16] [--rounds 7]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { attr, type Model, type Node } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/model-io.js';
import { DataType } from '../src/onnx/schema.js';
import { Tensor } from '../src/onnx/tensor.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '16' }, rounds: { type: 'string', default: '7' } } });
const batch = Number(values.batch);
const node = (opType: string, inputs: string[], output: string, attributes = [] as Node['attributes']): Node => ({
  name: `${output}_node`, opType, domain: '', inputs, outputs: [output], attributes,
});

function graph(shape: number[], nodes: Node[], inits: Tensor[]): Model {
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    extra: {},
    graph: {
      name: 'channel-or',
      nodes,
      inputs: [{ name: 'p', elemType: DataType.FLOAT, shape }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT }],
      initializers: new Map(inits.map((t) => [t.name, t])),
      valueInfo: [],
    },
  };
}

function variants(shape: number[]): Record<string, Model> {
  const [b, c, h, w] = shape as [number, number, number, number];
  const one = Tensor.float32('one', [], [1]);
  const axes = Tensor.int64('axes', [1], [1]);
  const ones = Tensor.float32('ones', [1, c], new Float32Array(c).fill(1));
  const kernel = Tensor.float32('kernel', [1, c, 1, 1], new Float32Array(c).fill(1));
  const flat = Tensor.int64('flat', [3], [0, c, h * w]);
  const back = Tensor.int64('back', [4], [0, 1, h, w]);
  void b;
  return {
    'ReduceMax over C': graph(shape, [node('ReduceMax', ['p'], 'y', [attr.ints('axes', [1]), attr.int('keepdims', 1)])], []),
    'ReduceSum over C, Min 1': graph(shape, [node('ReduceSum', ['p', 'axes'], 's', [attr.int('keepdims', 1)]), node('Min', ['s', 'one'], 'y')], [axes, one]),
    'MatMul ones[1,C], Min 1': graph(shape, [
      node('Reshape', ['p', 'flat'], 'f'), node('MatMul', ['ones', 'f'], 's'), node('Min', ['s', 'one'], 'm'), node('Reshape', ['m', 'back'], 'y'),
    ], [ones, one, flat, back]),
    'Conv ones[1,C,1,1], Min 1': graph(shape, [node('Conv', ['p', 'kernel'], 's'), node('Min', ['s', 'one'], 'y')], [kernel, one]),
  };
}

const shapes = [[batch, 72, 56, 56], [batch, 240, 28, 28], [batch, 672, 14, 14], [batch, 960, 7, 7]];
for (const shape of shapes) {
  const size = shape.reduce((a, d) => a * d, 1);
  const p = new Float32Array(size).map((_, i) => (Math.sin(i * 0.37) > 0.6 ? 1 : 0));
  const sessions = await Promise.all(Object.entries(variants(shape)).map(async ([name, model]) => {
    const s = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 2, executionProviders: ['cpu'] });
    return { name, s, cpu: [] as number[], out: undefined as Float32Array | undefined };
  }));
  const feed = { p: new ort.Tensor('float32', p, shape) };
  for (const v of sessions) v.out = (await v.s.run(feed)).y!.data as Float32Array;
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const v of sessions) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < 5; i++) await v.s.run(feed);
      const u = process.cpuUsage(t0);
      v.cpu.push((u.user + u.system) / 5000);
    }
  }
  const ref = sessions[0]!.out!;
  console.log(`[${shape.join(', ')}]`);
  for (const v of sessions) {
    const med = [...v.cpu].sort((a, b) => a - b)[v.cpu.length >> 1]!;
    const same = v.out!.every((x, i) => x === ref[i]);
    console.log(`  ${v.name.padEnd(28)} ${med.toFixed(2).padStart(7)} CPU-ms  ${same ? 'same 0/1' : 'DIFFERS'}`);
  }
}
