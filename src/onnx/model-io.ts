/**
 * Reading and writing ONNX model files. Decoding keeps every field of the ModelProto
 * (producer, metadata, functions, value_info, unknown attributes), so a model that goes
 * through load → save without edits comes back equivalent.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ModelProtoType } from './schema.js';
import { Tensor, type TensorProtoLike } from './tensor.js';
import { toInt, type AttributeProtoLike, type Graph, type Model, type Node, type ValueInfo, type Dim } from './graph.js';
import { ErrorCodes, GaiaError } from '../errors.js';

/** Newest IR version onnxruntime-node 1.30 loads. */
export const MAX_IR_VERSION = 13;

type Obj = Record<string, unknown>;

export async function loadModel(path: string): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `cannot read model file ${path}: ${(cause as Error).message}`, { cause });
  }
  return decodeModel(bytes, path);
}

export function decodeModel(bytes: Uint8Array, source = 'model'): Model {
  let obj: Obj;
  try {
    const msg = ModelProtoType.decode(bytes);
    obj = ModelProtoType.toObject(msg, { longs: String, arrays: true }) as Obj;
  } catch (cause) {
    throw new GaiaError(
      ErrorCodes.ONNX_PARSE,
      `${source} is not an ONNX model (protobuf decoding failed: ${(cause as Error).message}); ` +
        'pass the .onnx file written by torch.onnx.export or another ONNX exporter',
      { cause },
    );
  }
  const { irVersion, opsetImport, graph, ...extra } = obj;
  if (!graph || !Array.isArray((graph as Obj).node) || ((graph as Obj).node as unknown[]).length === 0) {
    throw new GaiaError(
      ErrorCodes.ONNX_PARSE,
      `${source} is not an ONNX model: it decodes, but holds no graph with nodes`,
    );
  }
  return {
    irVersion: toInt((irVersion as string | undefined) ?? 0),
    opsets: ((opsetImport as Obj[] | undefined) ?? []).map((o) => ({
      domain: (o.domain as string | undefined) ?? '',
      version: toInt((o.version as string | undefined) ?? 0),
    })),
    graph: graphFromProto(graph as Obj),
    extra,
  };
}

function graphFromProto(g: Obj): Graph {
  const { node, name, initializer, input, output, valueInfo, ...extra } = g;
  const initializers = new Map<string, Tensor>();
  for (const t of (initializer as TensorProtoLike[] | undefined) ?? []) initializers.set(t.name ?? '', Tensor.fromProto(t));
  return {
    name: (name as string | undefined) ?? 'graph',
    nodes: ((node as Obj[] | undefined) ?? []).map(nodeFromProto),
    inputs: ((input as Obj[] | undefined) ?? []).map(valueInfoFromProto),
    outputs: ((output as Obj[] | undefined) ?? []).map(valueInfoFromProto),
    initializers,
    valueInfo: ((valueInfo as Obj[] | undefined) ?? []).map(valueInfoFromProto),
    extra,
  };
}

function nodeFromProto(n: Obj): Node {
  const { input, output, name, opType, domain, attribute, ...extra } = n;
  return {
    name: (name as string | undefined) ?? '',
    opType: (opType as string | undefined) ?? '',
    domain: (domain as string | undefined) ?? '',
    inputs: (input as string[] | undefined) ?? [],
    outputs: (output as string[] | undefined) ?? [],
    attributes: (attribute as AttributeProtoLike[] | undefined) ?? [],
    extra,
  };
}

function valueInfoFromProto(v: Obj): ValueInfo {
  const { name, type, ...extra } = v;
  const tensorType = (type as Obj | undefined)?.tensorType as Obj | undefined;
  if (!tensorType) return { name: name as string, extra: { ...extra, type } };
  const dims = ((tensorType.shape as Obj | undefined)?.dim as Obj[] | undefined)?.map(
    (d): Dim => (d.dimValue !== undefined ? toInt(d.dimValue as string) : ((d.dimParam as string | undefined) ?? '?')),
  );
  return {
    name: name as string,
    elemType: tensorType.elemType as number,
    ...(tensorType.shape ? { shape: dims ?? [] } : {}),
    extra,
  };
}

function valueInfoToProto(v: ValueInfo): Obj {
  const base: Obj = { ...(v.extra ?? {}), name: v.name };
  if (v.elemType === undefined) return base;
  const tensorType: Obj = { elemType: v.elemType };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { ...base, type: { tensorType } };
}

export function encodeModel(model: Model): Uint8Array {
  if (model.irVersion > MAX_IR_VERSION) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OPSET,
      `model IR version ${model.irVersion} is newer than onnxruntime-node 1.30 loads (≤ ${MAX_IR_VERSION}); ` +
        're-export with an older exporter or lower ir_version',
    );
  }
  const g = model.graph;
  const graph: Obj = {
    ...(g.extra ?? {}),
    name: g.name,
    node: g.nodes.map((n) => ({
      ...(n.extra ?? {}),
      name: n.name,
      opType: n.opType,
      ...(n.domain ? { domain: n.domain } : {}),
      input: [...n.inputs],
      output: [...n.outputs],
      attribute: [...n.attributes],
    })),
    initializer: [...g.initializers.values()].map((t) => t.toProto()),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    valueInfo: g.valueInfo.map(valueInfoToProto),
  };
  const obj = {
    ...model.extra,
    irVersion: model.irVersion,
    opsetImport: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    graph,
  };
  return ModelProtoType.encode(ModelProtoType.fromObject(obj)).finish();
}

export async function saveModel(model: Model, path: string): Promise<void> {
  try {
    await writeFile(path, encodeModel(model));
  } catch (cause) {
    if (cause instanceof GaiaError) throw cause;
    throw new GaiaError(ErrorCodes.IO, `cannot write model file ${path}: ${(cause as Error).message}`, { cause });
  }
}
