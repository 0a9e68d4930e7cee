/**
 * Compile-time values of small tensors (the Shape → Gather → Concat → Reshape chains and the
 * scalar arithmetic exporters build pads and scales with): which tensors carry one, and the
 * ops folded on them.
 */
import type { Dim, Shape } from './graph.js';
import { DataType } from './schema.js';
import type { TensorInfo } from './tensor-info.js';
import type { Tensor } from './tensor.js';

export const INT_TYPES = new Set<number>([DataType.INT64, DataType.INT32]);

const FLOAT_VALUE_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE]);

export function smallIntValue(t: Tensor): { value?: Dim[] } {
  if ((INT_TYPES.has(t.dataType) || FLOAT_VALUE_TYPES.has(t.dataType)) && t.size <= 64) return { value: t.toNumbers() };
  return {};
}

/** Unary ops folded on compile-time values (TF-style "same" padding computes its pads with them). */
export const UNARY_FOLD: Record<string, (v: number) => number> = {
  Ceil: Math.ceil,
  Floor: Math.floor,
  Round: (v) => (Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v)),
  Neg: (v) => -v,
  Abs: Math.abs,
  Sqrt: Math.sqrt,
  Relu: (v) => Math.max(v, 0),
  Identity: (v) => v,
  Sign: Math.sign,
};

/**
 * Rearranges a compile-time value (row-major) into `outShape`, reading element `src(idx)`
 * of the input for output index `idx`. Undefined when either shape is not static.
 */
export function remapValue(input: TensorInfo, outShape: Shape, src: (idx: number[]) => number[]): Dim[] | undefined {
  const v = input.value;
  const inShape = input.shape;
  if (!v || !inShape.every((d) => typeof d === 'number') || !outShape.every((d) => typeof d === 'number')) return undefined;
  const ins = inShape as number[];
  const outs = outShape as number[];
  const count = outs.reduce((a, b) => a * b, 1);
  const result: Dim[] = [];
  for (let flat = 0; flat < count; flat++) {
    const idx = new Array<number>(outs.length);
    let rest = flat;
    for (let k = outs.length - 1; k >= 0; k--) {
      idx[k] = rest % outs[k]!;
      rest = Math.floor(rest / outs[k]!);
    }
    const from = src(idx).reduce((acc, i, k) => acc * ins[k]! + i, 0);
    result.push(v[from]!);
  }
  return result;
}

/** Equal on shape values: a symbolic dimension is never negative (TorchScript's -1 tests). */
export function foldEqual(infos: TensorInfo[]): Dim[] | undefined {
  if (!infos.every((i) => i.value) || infos.length !== 2) return undefined;
  const [a, b] = [infos[0]!.value!, infos[1]!.value!];
  const out: Dim[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a.length === 1 ? a[0]! : a[i]!;
    const y = b.length === 1 ? b[0]! : b[i]!;
    if (typeof x === 'number' && typeof y === 'number') out.push(x === y ? 1 : 0);
    else if (x === y) out.push(1);
    else if ((typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0)) out.push(0);
    else return undefined;
  }
  return out;
}

export function foldWhere(infos: TensorInfo[]): Dim[] | undefined {
  const [c, a, b] = infos.map((i) => i.value);
  if (!c || !a || !b) return undefined;
  const n = Math.max(c.length, a.length, b.length);
  const at = (v: Dim[], i: number) => (v.length === 1 ? v[0]! : v[i]!);
  return Array.from({ length: n }, (_, i) => (at(c, i) ? at(a, i) : at(b, i)));
}

export function foldArithmetic(op: string, infos: TensorInfo[], elemType: number): Dim[] | undefined {
  if (!infos.every((i) => i.value) || infos.length !== 2) return undefined;
  const [a, b] = [infos[0]!.value!, infos[1]!.value!];
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.length === 1 ? a[0]! : a[i]!;
    const y = b.length === 1 ? b[0]! : b[i]!;
    if (typeof x !== 'number' || typeof y !== 'number') {
      if (op === 'Mul' && (x === 1 || y === 1)) out.push(x === 1 ? y : x);
      else if (op === 'Mul') out.push(`(${x}*${y})`);
      else if (op === 'Div' && y === 1) out.push(x);
      else return undefined;
      continue;
    }
    switch (op) {
      case 'Add': out.push(x + y); break;
      case 'Sub': out.push(x - y); break;
      case 'Mul': out.push(x * y); break;
      case 'Div': out.push(INT_TYPES.has(elemType) ? Math.trunc(x / y) : x / y); break;
      case 'Max': out.push(Math.max(x, y)); break;
      case 'Min': out.push(Math.min(x, y)); break;
      case 'Pow': out.push(x ** y); break;
      default: return undefined;
    }
  }
  return out;
}
