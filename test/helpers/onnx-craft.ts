/**
 * Hand-made ONNX models for the model-I/O tests: one Add node (X + W) whose W is the
 * tensor under test, placed as an initializer, a sparse initializer or a Constant's value.
 */
import { encodeObject } from '../../src/onnx/model-io.js';

type Obj = Record<string, unknown>;

export const FLOAT = 1;

/** A float TensorProto stored externally in `location`. */
export function externalTensor(name: string, dims: number[], entries: Record<string, string>): Obj {
  return {
    name,
    dims,
    dataType: FLOAT,
    dataLocation: 1,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  };
}

export type Placement = 'initializer' | 'sparse-values' | 'sparse-indices' | 'constant';

/** Model bytes with `tensor` as W in the given placement (the rest of the model inline). */
export function craftModel(tensor: Obj, placement: Placement = 'initializer', sparseIndices?: Obj): Uint8Array {
  const io = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 2 }, { dimValue: 2 }] } } } });
  const nodes: Obj[] = [{ name: 'add', opType: 'Add', input: ['X', 'W'], output: ['Y'] }];
  const graph: Obj = { name: 'g', node: nodes, input: [io('X')], output: [io('Y')] };
  const indices = sparseIndices ?? { name: 'W_idx', dims: [1], dataType: 7, int64Data: [0] };
  const values = { name: 'W', dims: [1], dataType: FLOAT, floatData: [1] };
  if (placement === 'initializer') graph.initializer = [tensor];
  if (placement === 'sparse-values') graph.sparseInitializer = [{ values: tensor, indices, dims: [2, 2] }];
  if (placement === 'sparse-indices') graph.sparseInitializer = [{ values, indices: tensor, dims: [2, 2] }];
  if (placement === 'constant') {
    nodes.unshift({ name: 'const_w', opType: 'Constant', output: ['W'], attribute: [{ name: 'value', type: 4, t: tensor }] });
  }
  return encodeObject({ irVersion: 10, opsetImport: [{ domain: '', version: 20 }], producerName: 'craft', graph });
}
