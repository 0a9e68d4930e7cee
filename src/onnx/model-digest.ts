/**
 * A content hash of a model: what its outputs depend on, independent of how the file
 * stores it. Weights are hashed as their element bytes whether they sit in raw_data, in a
 * typed field or in an external data file (read by range), so moving the weights into
 * `model.onnx.data` or renaming nodes does not change it; changing any weight, attribute,
 * wiring or opset does. Doc strings, node names, metadata and value_info are left out.
 */
import { createHash } from 'node:crypto';
import { toInt, type Graph, type Model } from './graph.js';
import type { TensorProtoLike } from './tensor.js';
import { forEachContentChunk } from './tensor-content.js';
import { mapTensorProtos } from './tensor-protos.js';

type Obj = Record<string, unknown>;

/** sha256 (hex) of one tensor: data type, dims and element bytes. */
export function tensorDigest(p: TensorProtoLike): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ dataType: p.dataType ?? 0, dims: (p.dims ?? []).map((d) => toInt(d as number)) }));
  forEachContentChunk(p, (chunk) => h.update(chunk));
  return h.digest('hex');
}

/** sha256 (hex) of the model's content (see the module comment). */
export function modelDigest(model: Model): string {
  const g = model.graph;
  const canonical = {
    format: 'gaia-sentinel/model-digest@1',
    opsets: [...model.opsets].map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).sort(),
    functions: canon(mapTensorProtos({ functions: model.extra.functions ?? [] }, digestOnly).functions),
    graph: graphContent(g),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function graphContent(g: Graph): Obj {
  const sparse = ((g.extra?.sparseInitializer as Obj[] | undefined) ?? []).map((s) => ({
    values: s.values ? tensorDigest(s.values as TensorProtoLike) : null,
    indices: s.indices ? tensorDigest(s.indices as TensorProtoLike) : null,
    dims: ((s.dims as unknown[] | undefined) ?? []).map((d) => toInt(d as number)),
  }));
  const nodes = g.nodes.map((n) => ({ opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: n.attributes }));
  return {
    inputs: g.inputs.map((v) => [v.name, v.elemType ?? null, v.shape ?? null]),
    outputs: g.outputs.map((v) => v.name),
    initializers: [...g.initializers.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, t]) => [name, tensorDigest(t.toProto())]),
    sparse,
    nodes: canon(strip(nodes)),
  };
}

const digestOnly = (p: TensorProtoLike): TensorProtoLike => ({ digest: tensorDigest(p) }) as unknown as TensorProtoLike;

/** Nodes with attribute tensors (and subgraph initializers) replaced by their digests. */
function strip(nodes: Obj[]): unknown {
  return (mapTensorProtos({ graph: { node: nodes } }, digestOnly).graph as Obj).node;
}

/** A JSON-stable form: sorted keys, bytes as hex, Longs as numbers, no doc strings or metadata. */
function canon(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
    const out: Obj = {};
    for (const key of Object.keys(v).sort()) {
      if (key === 'docString' || key === 'metadataProps') continue;
      out[key] = canon((v as Obj)[key]);
    }
    return out;
  }
  return v;
}
