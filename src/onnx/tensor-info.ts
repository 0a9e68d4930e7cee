/**
 * What shape inference knows of a tensor and of a graph (shapes.ts computes them; the compiler
 * reads them).
 */
import type { Dim, Shape } from './graph.js';
import type { Tensor } from './tensor.js';

export interface TensorInfo {
  elemType: number;
  shape: Shape;
  /**
   * Element values of a small tensor known at compile time: shape vectors (possibly
   * symbolic) and the scalar arithmetic exporters build pads and scales with.
   */
  value?: Dim[];
}

export interface GraphInfo {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Constant tensors: initializers and the outputs of Constant nodes. */
  readonly constants: ReadonlyMap<string, Tensor>;
}
