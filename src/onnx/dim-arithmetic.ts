/**
 * Arithmetic on dimensions that may be symbolic (the batch, or products of it exporters build):
 * broadcasting, products, sums, the -1 of a Reshape, a Slice's length.
 */
import type { Dim, Node, Shape } from './graph.js';
import { fail } from './shape-errors.js';

export function broadcastShapes(node: Node, shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) fail(node, `cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
    }
    out.push(dim);
  }
  return out;
}

export function product(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === 'number')
    ? (dims as number[]).reduce((a, b) => a * b, 1)
    : dims.length === 1
      ? dims[0]!
      : `(${dims.join('*')})`;
}

export function sliceLength(dim: Dim, start: number, end: number, step: number): Dim {
  if (typeof dim !== 'number') {
    if (start === 0 && end >= 2 ** 31 && step === 1) return dim;
    return `slice(${dim})`;
  }
  return Math.max(0, Math.ceil((end - start) / step));
}

export function addDims(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((a, b) => a + b, 0);
  const sym = dims.filter((d) => d !== 0);
  return sym.length === 1 ? sym[0]! : `(${sym.join('+')})`;
}

/**
 * total / known for the -1 of a Reshape, where either may be a symbolic product such as
 * "(batch*128*1*1)": symbolic factors cancel, numeric ones divide.
 */
export function divideDims(node: Node, total: Dim, known: Dim): Dim {
  if (typeof total === 'number' && typeof known === 'number') return total / known;
  if (total === known) return 1;
  const t = factors(total);
  const k = factors(known);
  for (const sym of k.symbols) {
    const i = t.symbols.indexOf(sym);
    if (i < 0) fail(node, `cannot infer -1 in Reshape from ${total} / ${known}`);
    t.symbols.splice(i, 1);
  }
  if (k.number === 0 || t.number % k.number !== 0) fail(node, `cannot infer -1 in Reshape from ${total} / ${known}`);
  const n = t.number / k.number;
  if (t.symbols.length === 0) return n;
  const sym = t.symbols.join('*');
  return n === 1 && t.symbols.length === 1 ? sym : `(${n === 1 ? sym : `${sym}*${n}`})`;
}

/** A dimension as symbolic factors times a number. */
function factors(d: Dim): { symbols: string[]; number: number } {
  if (typeof d === 'number') return { symbols: [], number: d };
  const parts = splitProduct(d);
  const symbols = parts.filter((f) => Number.isNaN(Number(f)));
  const number = parts.filter((f) => !Number.isNaN(Number(f))).reduce((a, f) => a * Number(f), 1);
  return { symbols, number };
}

/** The factors of a symbolic product, nested or not: "((batch*4)*16)" → [batch, 4, 16]. */
function splitProduct(d: string): string[] {
  // Only a pure product may lose its parentheses; a sum or quotient stays one factor.
  if (/[+/]/.test(d) || d.includes('slice(') || d.includes('range(')) return [d];
  return d.replace(/[()]/g, '').split('*');
}
