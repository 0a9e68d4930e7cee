import * as ort from 'onnxruntime-node';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
const m = await loadModel('bench/.cache/resnet18.onnx');
const relus = m.graph.nodes.filter((n) => n.opType === 'Relu').map((n) => ({ name: n.outputs[0]!, elemType: 1 }));
const variants = {
  forward: m,
  keepRelus: { ...m, graph: { ...m.graph, outputs: [...m.graph.outputs, ...relus] } },
};
const batch = 128;
const data = new Float32Array(batch * 784).map((_, i) => Math.sin(i));
for (const [name, model] of Object.entries(variants)) {
  const s = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 2 });
  const feeds = { input: new ort.Tensor('float32', data, [batch, 1, 28, 28]) };
  await s.run(feeds); await s.run(feeds);
  const t: number[] = [];
  for (let i = 0; i < 6; i++) { const t0 = performance.now(); await s.run(feeds); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  console.log(name, (t[3]! / batch).toFixed(3), 'ms/img');
}
