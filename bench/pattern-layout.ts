/** The --layout flag of the pattern benches: how pattern mode lowers its per-layer ops. */
import type { PatternLayout } from '../src/compile/pattern/index.js';

export function parsePatternLayout(value: string): PatternLayout {
  if (value === 'blocked' || value === 'nchw') return value;
  throw new Error(`--layout ${value}: expected blocked (ops onnxruntime keeps in its NCHWc layout) or nchw (the plain lowering)`);
}
