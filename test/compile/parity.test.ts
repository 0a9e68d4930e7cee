/**
 * Parity of the compiled scoring graph with PyTorch autograd and the official GAIA
 * definitions, on golden fixtures written by tools/reference/make_fixtures.py: six
 * architectures, each exported with BatchNormalization kept and with BN folded into Conv.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph, type CompileResult } from '../../src/compile/compiler.js';
import { consumers, type Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { DataType } from '../../src/onnx/schema.js';
import { readNpy, type NpyArray } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';
import { relToScale } from '../helpers/parity-errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'expected.json')));

interface Expected {
  input_shape: number[];
  /** The model ends in Softmax: its output holds probabilities, the logits are its input. */
  output_is_softmax?: boolean;
  taps: Array<{ index: number; shape: number[]; onnx_node: Record<string, string> }>;
}

/** Per-element |a − b| / |b|, the strictest reading for per-sample scores. */
function maxElementRelError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30));
  return worst;
}

function softmaxRows(x: Float32Array, width: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += width) {
    const row = x.subarray(r, r + width);
    const max = Math.max(...row);
    let sum = 0;
    row.forEach((v, i) => (sum += out[r + i] = Math.exp(v - max)));
    for (let i = 0; i < width; i++) out[r + i] = out[r + i]! / sum;
  }
  return out;
}

/**
 * The tensor whose sign decides the ReLU/Clip mask applied to a tap's gradient: the tap
 * itself, or the residual sum it feeds (BasicBlock: bn2 → Add → ReLU).
 */
function maskInputOf(model: Model, tap: string): string | undefined {
  const readers = consumers(model.graph);
  let t = tap;
  for (let hops = 0; hops < 3; hops++) {
    const next = (readers.get(t) ?? []).filter((n) => !n.name.startsWith('gaia/'));
    const act = next.find((n) => n.opType === 'Relu' || n.opType === 'Clip');
    if (act) return t;
    const add = next.find((n) => n.opType === 'Add');
    if (!add) return undefined;
    t = add.outputs[0]!;
  }
  return undefined;
}

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const ref = (name: string): NpyArray => readNpy(join(dir, `${name}.npy`));

  for (const file of ['model.onnx', 'model.folded.onnx']) {
    describe(`${arch} (${file})`, () => {
      let result: CompileResult;
      let out: Record<string, { data: Float32Array; dims: readonly number[] }>;
      let plain: Record<string, { data: Float32Array; dims: readonly number[] }>;
      let masks: Array<string | undefined>;
      const input = ref('input');

      beforeAll(async () => {
        const model = await loadModel(join(dir, file));
        result = compileScoringGraph(model, {
          heads: ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy', 'gaia_z_ratios'],
          debug: true,
        });
        masks = result.taps.map((t) => maskInputOf(result.model, t.tensor));
        const extra = [...new Set(masks.filter((m): m is string => m !== undefined))]
          .filter((m) => !result.model.graph.outputs.some((o) => o.name === m))
          .map((name) => ({ name, elemType: DataType.FLOAT }));
        const withMasks: Model = { ...result.model, graph: { ...result.model.graph, outputs: [...result.model.graph.outputs, ...extra] } };
        out = await runModel(withMasks, input);
        plain = await runModel(model, input);
      });

      it('taps the tensors the official BatchNorm hooks see, in forward order', () => {
        expect(result.taps.map((t) => t.node)).toEqual(expected.taps.map((t) => t.onnx_node[file]));
        expect(result.taps.map((t) => [...t.shape.slice(1)])).toEqual(expected.taps.map((t) => t.shape.slice(1)));
      });

      it('leaves the logits unchanged', () => {
        const modelOutput = plain[Object.keys(plain)[0]!]!.data;
        const ours = expected.output_is_softmax ? softmaxRows(out.logits!.data, out.logits!.dims[1]!) : out.logits!.data;
        expect(relToScale(ours, modelOutput)).toBeLessThanOrEqual(1e-6);
        expect(relToScale(out.logits!.data, ref('logits').data)).toBeLessThanOrEqual(1e-4);
      });

      it('matches autograd per-tap gradients (relative error ≤ 1e-4)', () => {
        expected.taps.forEach((tap, i) => {
          const err = relToScale(out[`debug/grad/${i}`]!.data, ref(`grad_${i}`).data);
          expect(err, `tap ${i} (${tap.onnx_node[file]})`).toBeLessThanOrEqual(1e-4);
        });
      });

      it('matches per-tap zero ratios exactly, except where a ReLU input is within float32 rounding of zero', () => {
        let offset = 0;
        const ratios = out.gaia_z_ratios!.data;
        const k = ratios.length / input.shape[0]!;
        expected.taps.forEach((tap, i) => {
          const [batch, channels, ...spatial] = tap.shape as [number, number, ...number[]];
          const area = spatial.reduce((a, c) => a * c, 1);
          const refRatio = ref(`ratio_${i}`).data;
          for (let b = 0; b < batch; b++) {
            for (let c = 0; c < channels; c++) {
              const ours = Math.round(ratios[b * k + offset + c]! * area);
              const theirs = Math.round(refRatio[b * channels + c]! * area);
              if (ours === theirs) continue;
              // Explain the difference: count the mask-input values of (b, c) within rounding of 0.
              const mask = masks[i];
              expect(mask, `tap ${i} b=${b} c=${c}: ${ours} vs ${theirs} non-zero positions, and no ReLU follows the tap`).toBeDefined();
              const values = out[mask!]!.data;
              const perSample = values.length / batch;
              let scale = 0;
              for (let j = 0; j < perSample; j++) scale = Math.max(scale, Math.abs(values[b * perSample + j]!));
              let nearZero = 0;
              for (let j = 0; j < area; j++) if (Math.abs(values[b * perSample + c * area + j]!) <= 1e-5 * scale) nearZero++;
              expect(Math.abs(ours - theirs), `tap ${i} b=${b} c=${c}: mismatch not explained by near-zero ReLU inputs`).toBeLessThanOrEqual(nearZero);
            }
          }
          offset += channels;
        });
      });

      it('matches the reference GAIA-Z and GAIA-A scores (relative error ≤ 1e-5)', () => {
        expect(maxElementRelError(out.gaia_z!.data, ref('gaia_z').data)).toBeLessThanOrEqual(1e-5);
        expect(maxElementRelError(out.gaia_a!.data, ref('gaia_a').data)).toBeLessThanOrEqual(1e-5);
      });

      it('matches the MSP and energy baselines', () => {
        expect(maxElementRelError(out.msp!.data, ref('msp').data)).toBeLessThanOrEqual(1e-5);
        expect(maxElementRelError(out.energy!.data, ref('energy').data)).toBeLessThanOrEqual(1e-5);
      });
    });
  }
}
