/**
 * The graph IR the compiler works on: plain, immutable-by-convention records. Passes
 * return new graphs (spreading the arrays they change) rather than editing in place.
 * Attribute and value-info records are the decoded protobuf objects, so fields the
 * compiler does not understand survive a load/save round trip.
 */
import { AttributeType } from './schema.js';
import { Tensor, type TensorProtoLike } from './tensor.js';

/** A dimension: a size, or a symbolic name (the dynamic batch dimension). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface AttributeProtoLike {
  name: string;
  type?: number;
  f?: number;
  i?: IntLike;
  s?: Uint8Array;
  t?: TensorProtoLike;
  floats?: number[];
  ints?: IntLike[];
  strings?: Uint8Array[];
  [key: string]: unknown;
}

export interface Node {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** Input names; "" marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly AttributeProtoLike[];
  /** Other NodeProto fields (doc string, metadata), kept for the round trip. */
  readonly extra?: Record<string, unknown>;
}

export interface ValueInfo {
  readonly name: string;
  /** Element type (TensorProto.DataType) and shape, when declared. */
  readonly elemType?: number;
  readonly shape?: Shape;
  readonly extra?: Record<string, unknown>;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  readonly valueInfo: readonly ValueInfo[];
  readonly extra?: Record<string, unknown>;
}

export interface OpsetId {
  readonly domain: string;
  readonly version: number;
}

export interface Model {
  readonly irVersion: number;
  readonly opsets: readonly OpsetId[];
  readonly graph: Graph;
  /** Other ModelProto fields (producer, metadata_props, functions...), kept for the round trip. */
  readonly extra: Record<string, unknown>;
}

/** The version of the default ("ai.onnx") operator set the model imports. */
export function defaultOpset(model: Pick<Model, 'opsets'>): number {
  const found = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return found?.version ?? 0;
}

/** An int64 as protobufjs may hand it over: number, decimal string, or Long. */
export type IntLike = number | string | { toNumber(): number };

export const toInt = (v: IntLike): number =>
  typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : v.toNumber();
const num = toInt;

export function getAttr(node: Node, name: string): AttributeProtoLike | undefined {
  return node.attributes.find((a) => a.name === name);
}

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a?.i !== undefined && a.i !== null ? num(a.i) : fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a?.f ?? fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(num) : a?.type === AttributeType.INTS ? [] : undefined;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  const a = getAttr(node, name);
  return a?.t ? Tensor.fromProto(a.t, node.outputs[0] ?? name) : undefined;
}

/** Attribute constructors for nodes the compiler emits. */
export const attr = {
  int: (name: string, i: number): AttributeProtoLike => ({ name, type: AttributeType.INT, i }),
  float: (name: string, f: number): AttributeProtoLike => ({ name, type: AttributeType.FLOAT, f }),
  ints: (name: string, ints: readonly number[]): AttributeProtoLike => ({
    name,
    type: AttributeType.INTS,
    ints: [...ints],
  }),
  string: (name: string, s: string): AttributeProtoLike => ({
    name,
    type: AttributeType.STRING,
    s: new TextEncoder().encode(s),
  }),
  tensor: (name: string, t: Tensor): AttributeProtoLike => ({ name, type: AttributeType.TENSOR, t: t.toProto() }),
};

/** Map from tensor name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const node of graph.nodes) for (const out of node.outputs) if (out) map.set(out, node);
  return map;
}

/** Map from tensor name to the nodes that read it. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (!input) continue;
      const list = map.get(input);
      if (list) list.push(node);
      else map.set(input, [node]);
    }
  }
  return map;
}

/** Short human description of a node for error messages. */
export function describeNode(node: Node): string {
  return `${node.opType} node "${node.name || node.outputs[0] || '?'}"`;
}

/** A graph with tensors renamed (node inputs and outputs, graph inputs/outputs, value_info). */
export function renameTensors(graph: Graph, renames: ReadonlyMap<string, string>): Graph {
  const r = (name: string) => renames.get(name) ?? name;
  return {
    ...graph,
    nodes: graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) })),
    inputs: graph.inputs.map((v) => ({ ...v, name: r(v.name) })),
    outputs: graph.outputs.map((v) => ({ ...v, name: r(v.name) })),
    valueInfo: graph.valueInfo.map((v) => ({ ...v, name: r(v.name) })),
    initializers: new Map([...graph.initializers].map(([name, t]) => [r(name), renames.has(name) ? t.renamed(r(name)) : t])),
  };
}
