/**
 * Cost of the elementwise spellings the backward pass can use, in onnxruntime-node on this
 * CPU, on one ResNet-sized activation (128x64x28x28). Each graph ends in a spatial
 * ReduceSum so that copying a large output back to JavaScript does not hide the kernel.
 *
 *   npm run build && node dist/bench/elementwise.js
 */
import * as ort from 'onnxruntime-node';
import { attr, type Model, type Node } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/model-io.js';
import { DataType } from '../src/onnx/schema.js';
import { Tensor } from '../src/onnx/tensor.js';

const SHAPE = [128, 64, 28, 28];
const zero = Tensor.float32('zero', [], [0]);
const axes = Tensor.int64('axes', [2], [2, 3]);
const node = (opType: string, inputs: string[], output: string, attributes = [] as Node['attributes']): Node => ({
  name: `${output}_node`, opType, domain: '', inputs, outputs: [output], attributes,
});
const toFloat = [attr.int('to', DataType.FLOAT)];

/**
 * A graph over inputs x (a gradient, or with `boolPattern` a bool pattern xb) and m (an
 * activation), reduced to [128, 64].
 */
function graph(nodes: Node[], last: string, boolPattern = false): Model {
  return {
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    extra: {},
    graph: {
      name: 'elementwise',
      nodes: [...nodes, node('ReduceSum', [last, 'axes'], 'y', [attr.int('keepdims', 0)])],
      inputs: [
        boolPattern ? { name: 'xb', elemType: DataType.BOOL, shape: SHAPE } : { name: 'x', elemType: DataType.FLOAT, shape: SHAPE },
        { name: 'm', elemType: DataType.FLOAT, shape: SHAPE },
      ],
      outputs: [{ name: 'y', elemType: DataType.FLOAT }],
      initializers: new Map([zero, axes].map((t) => [t.name, t])),
      valueInfo: [],
    },
  };
}

const cases: Record<string, Model> = {
  'reduce only (baseline)': graph([node('Identity', ['x'], 'r')], 'r'),
  'relu mask: Greater+Where': graph([node('Greater', ['m', 'zero'], 'b'), node('Where', ['b', 'x', 'zero'], 'r')], 'r'),
  'relu mask: Greater+Cast+Mul': graph([node('Greater', ['m', 'zero'], 'b'), node('Cast', ['b'], 'c', toFloat), node('Mul', ['x', 'c'], 'r')], 'r'),
  'relu mask: Sign+Mul': graph([node('Sign', ['m'], 'c'), node('Mul', ['x', 'c'], 'r')], 'r'),
  'non-zero: Sign (then ReduceSumSquare)': graph([node('Sign', ['x'], 's'), node('Mul', ['s', 's'], 'r')], 'r'),
  'non-zero: Equal+Not+Cast': graph([node('Equal', ['x', 'zero'], 'b'), node('Not', ['b'], 'n'), node('Cast', ['n'], 'r', toFloat)], 'r'),
  'zeros: Equal+Cast': graph([node('Equal', ['x', 'zero'], 'b'), node('Cast', ['b'], 'r', toFloat)], 'r'),
  'Mul (reference)': graph([node('Mul', ['x', 'm'], 'r')], 'r'),
  // Patterns as bool (1 byte an element) instead of float 0/1: a ReLU step is Greater + And,
  // a merge Or; reductions still need a float (or int) input, so each tap's count adds a Cast.
  'bool pattern: ReLU step Greater+And (then Cast to reduce)': graph(
    [node('Greater', ['m', 'zero'], 'b'), node('And', ['xb', 'b'], 'a'), node('Cast', ['a'], 'r', toFloat)],
    'r',
    true,
  ),
  'bool pattern: three ReLU steps Greater+And (then Cast)': graph(
    [
      node('Greater', ['m', 'zero'], 'b'),
      node('And', ['xb', 'b'], 'a1'),
      node('And', ['a1', 'b'], 'a2'),
      node('And', ['a2', 'b'], 'a3'),
      node('Cast', ['a3'], 'r', toFloat),
    ],
    'r',
    true,
  ),
  'float pattern: three ReLU steps Greater+Cast+Mul': graph(
    [node('Greater', ['m', 'zero'], 'b'), node('Cast', ['b'], 'c', toFloat), node('Mul', ['x', 'c'], 'r1'), node('Mul', ['r1', 'c'], 'r2'), node('Mul', ['r2', 'c'], 'r')],
    'r',
  ),
};

const size = SHAPE.reduce((a, b) => a * b, 1);
const x = new Float32Array(size).map((_, i) => (i % 3 === 0 ? 0 : Math.sin(i)));
const m = new Float32Array(size).map((_, i) => Math.cos(i));
const xb = Uint8Array.from(x, (v) => (v !== 0 ? 1 : 0));
console.log('| graph | median ms |\n|---|---:|');
for (const [name, model] of Object.entries(cases)) {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 2 });
  const feeds: Record<string, ort.Tensor> = { m: new ort.Tensor('float32', m, SHAPE) };
  if (session.inputNames.includes('xb')) feeds.xb = new ort.Tensor('bool', xb, SHAPE);
  else feeds.x = new ort.Tensor('float32', x, SHAPE);
  await session.run(feeds);
  const times: number[] = [];
  for (let k = 0; k < 9; k++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${times[4]!.toFixed(1)} |`);
  await session.release();
}
