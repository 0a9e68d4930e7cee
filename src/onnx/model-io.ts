/**
 * Reading and writing ONNX models. Decoding keeps every field of the ModelProto
 * (producer, metadata, functions, value_info, unknown attributes, fields of a newer IR),
 * so a model that goes through load → save without edits comes back equivalent.
 * Every tensor is checked on load, before anything is compiled or written: inline data
 * against its dims (tensor-size.ts), external data against its folder and file
 * (external-data.ts). Saving lives in model-save.ts.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExternalDataResolver, DATA_LOCATION_EXTERNAL, externalSource, readExternal } from './external-data.js';
import { ModelProtoType } from './schema.js';
import { Tensor, type TensorProtoLike } from './tensor.js';
import { contentByteLength } from './tensor-content.js';
import { mapTensorProtos } from './tensor-protos.js';
import { checkInlineSize, checkSparseShape } from './tensor-size.js';
import { toInt, type AttributeProtoLike, type Graph, type Model, type Node, type ValueInfo, type Dim } from './graph.js';
import { ErrorCodes, GaiaError } from '../errors.js';


/** Newest IR version onnxruntime-node 1.30 loads. */
export const MAX_IR_VERSION = 13;

/** Protobuf's limit for one message: a model file above it must keep its data beside it. */
export const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;

type Obj = Record<string, unknown>;

export interface DecodeOptions {
  /**
   * The folder external data locations are relative to (the model file's folder).
   * Without it, a model whose tensors are stored externally is refused.
   */
  readonly baseDir?: string;
}

/** Reads a model file, and the external data files beside it that its tensors name. */
export async function loadModel(path: string): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `cannot read model file ${path}: ${(cause as Error).message}`, { cause });
  }
  return decodeModel(bytes, path, { baseDir: dirname(path) });
}

export function decodeModel(bytes: Uint8Array, source = 'model', options: DecodeOptions = {}): Model {
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
  const resolver = new ExternalDataResolver(options.baseDir, source);
  obj = mapTensorProtos(obj, (proto, where) => {
    if (proto.dataLocation === DATA_LOCATION_EXTERNAL) return resolver.resolve(proto, where);
    checkInlineSize(proto, where);
    return proto;
  }, checkSparseShape);
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

/**
 * What a tensor type carries besides element type and dims (TypeProto.denotation, a dim's
 * denotation, unknown fields at each level), kept under a symbol so that it is written
 * back without becoming part of the IR. Dims' extras are reapplied only while the rank is
 * unchanged.
 */
const TYPE_EXTRA = Symbol('gaia.typeExtra');

interface TypeExtra {
  readonly type: Obj;
  readonly tensorType: Obj;
  readonly shape: Obj;
  readonly dims: Obj[];
}

function valueInfoFromProto(v: Obj): ValueInfo {
  const { name, type, ...extra } = v;
  const { tensorType: tt, ...typeRest } = (type as Obj | undefined) ?? {};
  const tensorType = tt as Obj | undefined;
  if (!tensorType) return { name: name as string, extra: { ...extra, type } };
  const { elemType, shape, ...tensorTypeRest } = tensorType;
  const { dim, ...shapeRest } = (shape as Obj | undefined) ?? {};
  const dimObjs = (dim as Obj[] | undefined) ?? [];
  const dims = dimObjs.map(
    (d): Dim => (d.dimValue !== undefined ? toInt(d.dimValue as string) : ((d.dimParam as string | undefined) ?? '?')),
  );
  const typeExtra: TypeExtra = {
    type: typeRest,
    tensorType: tensorTypeRest,
    shape: shapeRest,
    dims: dimObjs.map(({ dimValue: _v, dimParam: _p, value: _o, ...rest }) => rest),
  };
  return {
    name: name as string,
    elemType: elemType as number,
    ...(shape ? { shape: dims } : {}),
    extra: { ...extra, [TYPE_EXTRA]: typeExtra },
  };
}

function valueInfoToProto(v: ValueInfo): Obj {
  const base: Obj = { ...(v.extra ?? {}), name: v.name };
  if (v.elemType === undefined) return base;
  const kept = (v.extra as { [TYPE_EXTRA]?: TypeExtra } | undefined)?.[TYPE_EXTRA];
  const tensorType: Obj = { ...kept?.tensorType, elemType: v.elemType };
  if (v.shape) {
    const dimExtras = kept?.dims.length === v.shape.length ? kept.dims : [];
    tensorType.shape = {
      ...kept?.shape,
      dim: v.shape.map((d, i) => ({ ...dimExtras[i], ...(typeof d === 'number' ? { dimValue: d } : { dimParam: d }) })),
    };
  }
  return { ...base, type: { ...kept?.type, tensorType } };
}

/** The model as one protobuf message (external tensors read into it), for files and in-memory sessions. */
export function encodeModel(model: Model): Uint8Array {
  const obj = modelToObject(model);
  // Sized before any external data is read in.
  const total = tensorDataBytes(obj);
  if (total > PROTOBUF_LIMIT_BYTES) {
    throw new GaiaError(
      ErrorCodes.IO,
      `the model holds ${total} bytes of tensor data, over protobuf's 2 GB limit for one message; ` +
        'write it with saveModel (it stores the data beside the model file) and load it from that path',
    );
  }
  return encodeObject(mapTensorProtos(obj, inlineTensor));
}

/** Bytes of tensor data a model object holds, wherever stored (external data is not read). */
export function tensorDataBytes(obj: Obj): number {
  let total = 0;
  mapTensorProtos(obj, (p) => ((total += contentByteLength(p)), p));
  return total;
}

/** Protobuf bytes of a model object (as modelToObject gives, possibly with tensors rewritten). */
export function encodeObject(obj: Obj): Uint8Array {
  return ModelProtoType.encode(ModelProtoType.fromObject(obj)).finish();
}

/** A tensor proto with its external data read in as raw_data. */
function inlineTensor(proto: TensorProtoLike): TensorProtoLike {
  const src = externalSource(proto);
  if (!src) return proto;
  const { externalData: _e, dataLocation: _d, ...rest } = proto;
  return { ...rest, rawData: readExternal(src) };
}

/** The plain-object form of a model, as protobufjs' fromObject takes it. */
export function modelToObject(model: Model): Obj {
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
  return {
    ...model.extra,
    irVersion: model.irVersion,
    // An empty domain is left out, as exporters write it (ai.onnx is the default).
    opsetImport: model.opsets.map((o) => ({ ...(o.domain ? { domain: o.domain } : {}), version: o.version })),
    graph,
  };
}
