/**
 * How often the HardSwish / HardSigmoid masks read from the activation's output (pattern
 * mode's default, src/compile/pattern/output-masks.ts) differ from autograd's zero pattern,
 * which pattern-exact reads from the input: per element (every activation's input and
 * output on real frames, the output as the fused Conv+activation kernel writes it: read
 * through an Abs, not as a graph output, which would unfuse it) and per
 * frame (GAIA-Z and its zero ratios, pattern vs pattern-exact), on every parity fixture,
 * every zoo model and the camera-size packages (node bench/camera-packages.mjs).
 *
 *   npm run build && node dist/bench/activation-masks.js [--camera resnet50,mobilenet_v3_large] [--frames 64]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, type CompileResult } from '../src/compile/compiler.js';
import { loadConfig } from '../src/config/load.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { loadModelPackage } from '../src/model/manifest.js';
import { attrFloat, type Model } from '../src/onnx/graph.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
import { readNpy } from '../test/helpers/npy.js';

const { values } = parseArgs({
  options: {
    camera: { type: 'string', default: 'resnet50,mobilenet_v3_large' },
    frames: { type: 'string', default: '64' },
    batch: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});

interface Case { name: string; model: string; taps?: string; input: Float32Array; shape: number[] }
interface Counts { elements: number; belowMinus3: number; atMinus3: number; atZero: number; slopeZero: number; other: number }

const FIX = join('test', 'fixtures');
function fixtureCases(): Case[] {
  const cases: Case[] = [];
  const parity = join(FIX, 'parity');
  for (const arch of readdirSync(parity).filter((d) => existsSync(join(parity, d, 'expected.json')))) {
    const input = readNpy(join(parity, arch, 'input.npy'));
    for (const file of ['model.onnx', 'model.folded.onnx']) cases.push({ name: `parity/${arch} ${file}`, model: join(parity, arch, file), input: input.data, shape: input.shape });
  }
  const zoo = join(FIX, 'zoo');
  for (const arch of readdirSync(zoo).filter((d) => existsSync(join(zoo, d, 'expected.json')))) {
    const expected = JSON.parse(readFileSync(join(zoo, arch, 'expected.json'), 'utf8')) as Record<string, { compiled?: boolean }> & { taps_spec: string; exporters: string[] };
    const input = readNpy(join(zoo, arch, 'input.npy'));
    for (const e of expected.exporters.filter((x) => expected[x]?.compiled)) {
      cases.push({ name: `zoo/${arch} ${e}`, model: join(zoo, arch, e, 'model.onnx'), taps: expected.taps_spec, input: input.data, shape: input.shape });
    }
  }
  return cases;
}

async function cameraCase(name: string, count: number): Promise<Case> {
  const dir = join('bench', '.cache', 'camera', name);
  const pkg = await loadModelPackage(dir);
  const pre = new Preprocessor(pkg.manifest, loadConfig({ env: {}, overrides: { 'model.dir': dir } }).frames);
  const files = readdirSync(join(dir, 'samples', 'id')).sort().slice(0, count);
  const per = pre.elementsPerFrame;
  const input = new Float32Array(files.length * per);
  for (const [i, f] of files.entries()) await pre.decodeInto(readFileSync(join(dir, 'samples', 'id', f)), input.subarray(i * per, (i + 1) * per));
  return { name: `camera/${name} (${files.length} 1080p frames)`, model: join(dir, 'model.onnx'), input, shape: [files.length, ...pkg.manifest.input.shape.slice(1)] as number[] };
}

async function run(bytes: Uint8Array, c: Case, outputs: string[]): Promise<Map<string, Float32Array[]>> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const per = c.shape.slice(1).reduce((a, d) => a * d, 1);
  // Fixtures run whole (some exports have a fixed batch); camera frames a few at a time.
  const step = c.name.startsWith('camera/') ? Number(values.batch) : c.shape[0]!;
  const got = new Map<string, Float32Array[]>(outputs.map((o) => [o, []]));
  for (let i = 0; i < c.shape[0]!; i += step) {
    const n = Math.min(step, c.shape[0]! - i);
    const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', c.input.slice(i * per, (i + n) * per), [n, ...c.shape.slice(1)]) }, outputs);
    for (const o of outputs) got.get(o)!.push(r[o]!.data as Float32Array);
  }
  await s.release();
  return got;
}

const withOutputs = (m: Model, names: string[]): Uint8Array => encodeModel({ ...m, graph: { ...m.graph, outputs: names.map((name) => ({ name, elemType: 1 })) } });

/**
 * The activations' outputs as the scoring graph sees them: read through an Abs each (zero
 * exactly where the output is, and in (0, 1) exactly where HardSigmoid's is), so that no
 * activation output is itself a graph output, which would keep onnxruntime from fusing it
 * into its Conv.
 */
function withAbsOutputs(m: Model, names: string[]): Uint8Array {
  const abs = names.map((name) => ({ name: `${name}/abs_node`, opType: 'Abs', domain: '', inputs: [name], outputs: [`${name}/abs`], attributes: [] }));
  return encodeModel({ ...m, graph: { ...m.graph, nodes: [...m.graph.nodes, ...abs], outputs: abs.map((n) => ({ name: n.outputs[0]!, elemType: 1 })) } });
}

/** The float32 inputs where torch's HardSwish slope x·(1/3) + 1/2 rounds to 0 (activation-masks.ts). */
const third = Math.fround(1 / 3);
const slopeIsZero = (x: number) => Math.fround(Math.fround(x * third) + 0.5) === 0;

async function elementCounts(m: Model, c: Case) {
  const hs = m.graph.nodes.filter((n) => n.opType === 'HardSwish');
  const sig = m.graph.nodes.filter((n) => n.opType === 'HardSigmoid');
  const swish: Counts = { elements: 0, belowMinus3: 0, atMinus3: 0, atZero: 0, slopeZero: 0, other: 0 };
  const sigmoid = { elements: 0, differ: 0 };
  if (hs.length + sig.length === 0) return { swish, sigmoid, nodes: 0 };
  const nodes = [...hs, ...sig];
  // Two sessions: the outputs alone (the fused kernels write them) and the inputs alone.
  const ys = await run(withAbsOutputs(m, nodes.map((n) => n.outputs[0]!)), c, nodes.map((n) => `${n.outputs[0]!}/abs`));
  const xs = await run(withOutputs(m, nodes.map((n) => n.inputs[0]!)), c, nodes.map((n) => n.inputs[0]!));
  for (const n of nodes) {
    const yb = ys.get(`${n.outputs[0]!}/abs`)!;
    const xb = xs.get(n.inputs[0]!)!;
    const alpha = attrFloat(n, 'alpha', 0.2);
    const beta = attrFloat(n, 'beta', 0.5);
    const lo = Math.fround(-beta / alpha);
    const hi = Math.fround((1 - beta) / alpha);
    yb.forEach((y, k) => {
      const x = xb[k]!;
      for (let i = 0; i < y.length; i++) {
        const xi = x[i]!;
        const yi = y[i]!;
        if (n.opType === 'HardSigmoid') {
          sigmoid.elements++;
          if ((xi > lo && xi < hi) !== (yi > 0 && yi < 1)) sigmoid.differ++;
          continue;
        }
        swish.elements++;
        if (xi < -3) swish.belowMinus3++;
        const exactZero = xi < -3 || slopeIsZero(xi);
        if (exactZero === (yi === 0)) continue;
        if (xi === -3) swish.atMinus3++;
        else if (xi === 0) swish.atZero++;
        else if (slopeIsZero(xi)) swish.slopeZero++;
        else swish.other++;
      }
    });
  }
  return { swish, sigmoid, nodes: nodes.length };
}

async function frameCounts(m: Model, c: Case) {
  const heads = ['gaia_z', 'gaia_z_ratios'] as const;
  const compile = (gaiaZMode: 'pattern' | 'pattern-exact'): CompileResult => compileScoringGraph(m, { taps: c.taps, heads, gaiaZMode });
  const [out, exact] = [compile('pattern'), compile('pattern-exact')];
  const flat = (r: Map<string, Float32Array[]>, o: string) => Float32Array.from(r.get(o)!.flatMap((a) => [...a]));
  const a = await run(encodeModel(out.model), c, [...heads]);
  const b = await run(encodeModel(exact.model), c, [...heads]);
  const za = flat(a, 'gaia_z');
  const zb = flat(b, 'gaia_z');
  const ra = flat(a, 'gaia_z_ratios');
  const rb = flat(b, 'gaia_z_ratios');
  const frames = [...za.keys()].filter((i) => za[i] !== zb[i]);
  return {
    mode: out.gaiaZMode,
    frames: za.length,
    framesDiffering: frames,
    maxGaiaZDiff: frames.reduce((w, i) => Math.max(w, Math.abs(za[i]! - zb[i]!)), 0),
    ratiosDiffering: ra.reduce((n, v, i) => n + (v !== rb[i] ? 1 : 0), 0),
    ratios: ra.length,
  };
}

const cases = fixtureCases();
for (const name of values.camera ? values.camera.split(',') : []) cases.push(await cameraCase(name, Number(values.frames)));
const rows = [];
if (!values.json) {
  console.log('| model | HardSwish inputs | below −3 | mask differs: at −3 / ±0 / slope 0 / other | HardSigmoid inputs | differs | frames | frames whose GAIA-Z differs | ratios differing |');
  console.log('|---|---:|---:|---|---:|---:|---:|---:|---:|');
}
for (const c of cases) {
  const m = await loadModel(c.model);
  const e = await elementCounts(m, c);
  const f = e.nodes > 0 ? await frameCounts(m, c) : undefined;
  const row = { model: c.name, ...e, ...(f ? { gaiaZ: f } : {}) };
  rows.push(row);
  if (values.json) continue;
  const s = e.swish;
  console.log(
    `| ${c.name} | ${s.elements} | ${s.belowMinus3} | ${s.atMinus3} / ${s.atZero} / ${s.slopeZero} / ${s.other} | ${e.sigmoid.elements} | ${e.sigmoid.differ} | ` +
      (f ? `${f.frames} | ${f.framesDiffering.length}${f.framesDiffering.length ? ` (${f.framesDiffering.join(', ')}; max ${f.maxGaiaZDiff.toExponential(1)})` : ''} | ${f.ratiosDiffering} of ${f.ratios} |` : `${c.shape[0]} | – | – |`),
  );
}
if (values.json) console.log(JSON.stringify(rows));
