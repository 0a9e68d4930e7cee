/**
 * Emits the nodes and constants the compiler adds to a graph. It knows which opset the
 * model imports and spells each op the way that opset wants it (axes as attribute or
 * input, split sizes, ...), so the rules above it never branch on opset versions.
 */
import { attr, type AttributeProtoLike, type Node, type Shape } from '../onnx/graph.js';
import { DataType } from '../onnx/schema.js';
import { Tensor } from '../onnx/tensor.js';
import type { GraphInfo, TensorInfo } from '../onnx/shapes.js';

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, Tensor>();
  /** Shapes of the tensors this builder created, for rules that chain on them. */
  readonly shapes = new Map<string, Shape>();
  /**
   * Float32 tensors whose shape the compiler declares in the graph's value_info: onnxruntime
   * keeps a Mul in its blocked layout only when it can prove both operands have one shape,
   * and its shape inference loses the batch dimension along the backward pass.
   */
  readonly declared = new Map<string, Shape>();
  private counter = 0;
  private readonly floatConsts = new Map<string, string>();
  private readonly intConsts = new Map<string, string>();

  constructor(
    readonly opset: number,
    readonly info: GraphInfo,
    private readonly prefix: string,
    private readonly taken: ReadonlySet<string>,
  ) {}

  /** A fresh tensor or node name that cannot collide with the model's own names. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`;
    while (this.taken.has(name));
    return name;
  }

  shapeOf(name: string): Shape | undefined {
    return this.shapes.get(name) ?? this.info.tensors.get(name)?.shape;
  }

  tensorInfo(name: string): TensorInfo | undefined {
    return this.info.tensors.get(name);
  }

  /** The constant value of a tensor (initializer or Constant node), if it has one. */
  constant(name: string): Tensor | undefined {
    return this.info.constants.get(name) ?? this.initializers.get(name);
  }

  /** Adds one node; returns its output names. */
  op(opType: string, inputs: readonly string[], attributes: AttributeProtoLike[] = [], outputs = 1, hint = opType): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ name: this.fresh(`${hint}_node`), opType, domain: '', inputs: [...inputs], outputs: names, attributes });
    return names;
  }

  op1(opType: string, inputs: readonly string[], attributes: AttributeProtoLike[] = [], hint = opType): string {
    return this.op(opType, inputs, attributes, 1, hint)[0]!;
  }

  addInitializer(hint: string, tensor: (name: string) => Tensor): string {
    const name = this.fresh(hint);
    this.initializers.set(name, tensor(name));
    return name;
  }

  /** A float32 scalar constant (deduplicated). */
  scalar(value: number): string {
    const key = String(Math.fround(value));
    let name = this.floatConsts.get(key);
    if (!name) {
      name = this.addInitializer('const', (n) => Tensor.float32(n, [], [value]));
      this.floatConsts.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 constant (deduplicated). */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.intConsts.get(key);
    if (!name) {
      name = this.addInitializer('ints', (n) => Tensor.int64(n, [values.length], values));
      this.intConsts.set(key, name);
    }
    return name;
  }

  floatTensor(hint: string, dims: readonly number[], data: Float32Array): string {
    return this.addInitializer(hint, (n) => Tensor.float32(n, dims, data));
  }

  // ---- opset-aware spellings ----

  /** Reduce over `axes`; ReduceSum takes axes as an input from opset 13, the others from 18. */
  reduce(opType: string, x: string, axes: readonly number[], keepdims: boolean): string {
    const axesAsInput = opType === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    const keep = attr.int('keepdims', keepdims ? 1 : 0);
    return axesAsInput
      ? this.op1(opType, [x, this.ints(axes)], [keep])
      : this.op1(opType, [x], [attr.ints('axes', axes), keep]);
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13
      ? this.op1('Unsqueeze', [x, this.ints(axes)])
      : this.op1('Unsqueeze', [x], [attr.ints('axes', axes)]);
  }

  split(x: string, sizes: readonly number[], axis: number): string[] {
    const axisAttr = attr.int('axis', axis);
    return this.opset >= 13
      ? this.op('Split', [x, this.ints(sizes)], [axisAttr], sizes.length)
      : this.op('Split', [x], [axisAttr, attr.ints('split', sizes)], sizes.length);
  }

  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.op1('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes)]);
  }

  pad(x: string, pads: readonly number[]): string {
    return this.op1('Pad', [x, this.ints(pads)]);
  }

  reshapeLike(x: string, like: string): string {
    return this.op1('Reshape', [x, this.op1('Shape', [like])]);
  }

  /** A float tensor filled with `value`, shaped by the 1-D int64 tensor `shape`. */
  filled(shape: string, value: number): string {
    return this.op1('ConstantOfShape', [shape], [attr.tensor('value', Tensor.float32('value', [1], [value]))]);
  }

  /** Zeros with the runtime shape of `like`. */
  zerosLike(like: string): string {
    return this.filled(this.op1('Shape', [like]), 0);
  }

  onesLike(like: string): string {
    return this.filled(this.op1('Shape', [like]), 1);
  }

  /**
   * Sum of gradient contributions (one contribution passes through unchanged), as a chain
   * of Adds: onnxruntime's Add kernel is about 40% faster than its Sum (bench/profile.ts).
   */
  sum(parts: readonly string[]): string {
    return parts.slice(1).reduce((acc, p) => this.op1('Add', [acc, p], [], 'grad_sum'), parts[0]!);
  }

  isInt64(name: string): boolean {
    return this.tensorInfo(name)?.elemType === DataType.INT64;
  }
}
