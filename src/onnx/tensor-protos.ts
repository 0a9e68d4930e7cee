/**
 * Every TensorProto a decoded ModelProto carries, wherever it sits: graph initializers,
 * sparse initializers (values and indices), tensor attributes of nodes (Constant's value,
 * and any TENSOR/TENSORS/SPARSE_TENSOR attribute), subgraphs of If/Loop/Scan, model
 * functions and training info. Size and external-data checks must see all of them: a
 * check that skips sparse initializers lets `../../etc/passwd` through.
 */
import type { TensorProtoLike } from './tensor.js';

type Obj = Record<string, unknown>;

/** Replaces a tensor proto (or returns it unchanged); `where` names it for error messages. */
export type TensorMapper = (proto: TensorProtoLike, where: string) => TensorProtoLike;

/** Sees each SparseTensorProto (after its values and indices are mapped). */
export type SparseVisitor = (sparse: Obj, where: string) => void;

interface Walk {
  readonly fn: TensorMapper;
  readonly onSparse: SparseVisitor | undefined;
}

const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const quoted = (v: unknown, fallback: string): string => `"${(v as string | undefined) || fallback}"`;

/** A copy of the model object with every TensorProto passed through `fn` (containers copied, not mutated). */
export function mapTensorProtos(model: Obj, mapper: TensorMapper, onSparse?: SparseVisitor): Obj {
  const fn: Walk = { fn: mapper, onSparse };
  const out: Obj = { ...model };
  if (model.graph) out.graph = mapGraph(model.graph as Obj, fn, '');
  if (model.functions) {
    out.functions = arr(model.functions).map((f) => ({
      ...f,
      node: mapNodes(arr(f.node), fn, ` in function ${quoted(f.name, '?')}`),
    }));
  }
  if (model.trainingInfo) {
    out.trainingInfo = arr(model.trainingInfo).map((t, i) => {
      const copy: Obj = { ...t };
      for (const key of ['initialization', 'algorithm']) {
        if (t[key]) copy[key] = mapGraph(t[key] as Obj, fn, ` in training_info[${i}].${key}`);
      }
      return copy;
    });
  }
  return out;
}

function mapGraph(g: Obj, fn: Walk, scope: string): Obj {
  const out: Obj = { ...g };
  if (g.initializer) out.initializer = arr(g.initializer).map((t) => fn.fn(t as TensorProtoLike, `initializer ${quoted(t.name, '?')}${scope}`));
  if (g.sparseInitializer) {
    out.sparseInitializer = arr(g.sparseInitializer).map((s) => mapSparse(s, fn, `sparse_initializer ${quoted((s.values as Obj | undefined)?.name, '?')}${scope}`));
  }
  if (g.node) out.node = mapNodes(arr(g.node), fn, scope);
  return out;
}

function mapSparse(s: Obj, fn: Walk, where: string): Obj {
  const out: Obj = { ...s };
  if (s.values) out.values = fn.fn(s.values as TensorProtoLike, `${where} (values)`);
  if (s.indices) out.indices = fn.fn(s.indices as TensorProtoLike, `${where} (indices)`);
  fn.onSparse?.(out, where);
  return out;
}

function mapNodes(nodes: Obj[], fn: Walk, scope: string): Obj[] {
  return nodes.map((n) => {
    if (!n.attribute) return n;
    const node = `${(n.opType as string | undefined) ?? '?'} node ${quoted(n.name, (arr(n.output)[0] as unknown as string) ?? '?')}`;
    return { ...n, attribute: arr(n.attribute).map((a) => mapAttribute(a, fn, `attribute "${a.name as string}" of ${node}${scope}`)) };
  });
}

function mapAttribute(a: Obj, fn: Walk, where: string): Obj {
  const out: Obj = { ...a };
  if (a.t) out.t = fn.fn(a.t as TensorProtoLike, where);
  if (a.tensors) out.tensors = arr(a.tensors).map((t, i) => fn.fn(t as TensorProtoLike, `${where} [${i}]`));
  if (a.sparseTensor) out.sparseTensor = mapSparse(a.sparseTensor as Obj, fn, where);
  if (a.sparseTensors) out.sparseTensors = arr(a.sparseTensors).map((s, i) => mapSparse(s, fn, `${where} [${i}]`));
  if (a.g) out.g = mapGraph(a.g as Obj, fn, ` in subgraph of ${where}`);
  if (a.graphs) out.graphs = arr(a.graphs).map((g, i) => mapGraph(g, fn, ` in subgraph [${i}] of ${where}`));
  return out;
}
