/**
 * What onnxruntime makes of a graph: asks a CPU session for its optimised model
 * (`optimizedModelFilePath`) and counts its nodes by domain and op, the layout reorders
 * (com.microsoft.nchwc ReorderInput / ReorderOutput) and, for each reorder back to NCHW,
 * what reads its output (by the compiler's node hint), so a change to the pattern pass can
 * be checked against the blocked (NCHWc) layout before it is timed.
 *
 *   npm run build && node dist/bench/optimized-graph.js --model bench/.cache/pat/mobilenet_v3_large.onnx --graph pattern
 *   node dist/bench/optimized-graph.js --model … --graph plain|pattern|pattern-exact|FILE.onnx [--keep out.onnx]
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseGaiaZMode, parseHeads } from '../src/compile/compiler.js';
import { consumers, type Node } from '../src/onnx/graph.js';
import { decodeModel, encodeModel, loadModel } from '../src/onnx/model-io.js';
import { parsePatternLayout } from './pattern-layout.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench/.cache/pat/mobilenet_v3_large.onnx' },
    /** plain (the classifier), a GAIA-Z mode (compiled here), or a compiled .onnx file. */
    graph: { type: 'string', default: 'pattern' },
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy' },
    /** Keep onnxruntime's optimised model at this path. */
    keep: { type: 'string' },
    /** Print every reorder back to NCHW with its readers. */
    list: { type: 'boolean', default: false },
    /** Pattern mode's lowering: blocked (default) or nchw. */
    layout: { type: 'string', default: 'blocked' },
  },
});

async function graphBytes(): Promise<Uint8Array> {
  const g = values.graph!;
  if (g.endsWith('.onnx')) return readFile(g);
  const model = await loadModel(values.model!);
  if (g === 'plain') return encodeModel(model);
  return encodeModel(compileScoringGraph(model, { heads: parseHeads(values.heads!), gaiaZMode: parseGaiaZMode(g), headSettings: { patternLayout: parsePatternLayout(values.layout!) } }).model);
}

const out = values.keep ?? join(tmpdir(), `gaia-optimized-${process.pid}.onnx`);
const session = await ort.InferenceSession.create(await graphBytes(), {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  optimizedModelFilePath: out,
});
await session.release();
const optimized = decodeModel(await readFile(out), out);
if (!values.keep) await rm(out);

const nodes = optimized.graph.nodes;
const key = (n: Node) => `${n.domain ? `${n.domain}::` : ''}${n.opType}`;
const activation = (n: Node) => {
  const a = n.attributes.find((x) => x.name === 'activation');
  return a?.s ? `[${Buffer.from(a.s as Uint8Array).toString()}]` : '';
};
const counts = new Map<string, number>();
for (const n of nodes) counts.set(key(n) + activation(n), (counts.get(key(n) + activation(n)) ?? 0) + 1);
const hintOf = (n: Node) => n.name.replace(/^gaia\//, '').replace(/(_node)?(_\d+)*(_nchwc)?$/, '') || n.opType;
const readers = consumers(optimized.graph);
const reorderOut = nodes.filter((n) => n.opType === 'ReorderOutput');
const reorderIn = nodes.filter((n) => n.opType === 'ReorderInput');
const byReader = new Map<string, number>();
for (const r of reorderOut) {
  const who = [...new Set((readers.get(r.outputs[0]!) ?? []).map((n) => `${n.opType} ${hintOf(n)}`))].sort().join(' + ') || '(graph output)';
  byReader.set(who, (byReader.get(who) ?? 0) + 1);
  if (values.list) console.log(`reorder ${r.outputs[0]} → ${who}`);
}
console.log(`${values.graph}: ${nodes.length} nodes after onnxruntime's optimisations; ReorderOutput ${reorderOut.length}, ReorderInput ${reorderIn.length}`);
console.log('\nnodes by op:');
for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) console.log(`  ${String(v).padStart(4)}  ${k}`);
console.log('\nreorders to NCHW, by what reads them:');
for (const [k, v] of [...byReader].sort((a, b) => b[1] - a[1])) console.log(`  ${String(v).padStart(4)}  ${k}`);
