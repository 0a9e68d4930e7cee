/** Runs a model with onnxruntime-node on CPU and returns float outputs by name. */
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../src/onnx/model-io.js';
import type { Model } from '../../src/onnx/graph.js';

export async function runModel(
  model: Model | Uint8Array,
  input: { name?: string; data: Float32Array; shape: number[] },
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const feeds = { [input.name ?? session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.shape) };
    const results = await session.run(feeds);
    const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const [name, t] of Object.entries(results)) out[name] = { data: t.data as Float32Array, dims: t.dims };
    return out;
  } finally {
    await session.release();
  }
}
