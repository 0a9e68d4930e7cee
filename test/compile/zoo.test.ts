/**
 * Bring your own model: torchvision classifiers (narrow variants) and public CNN patterns,
 * exported by torch 2.15's two exporters exactly as torch writes them (the default dynamo
 * exporter: weights in model.onnx.data beside the model), compiled with the default taps
 * (or the fixture's own, for LayerNorm nets) and checked against the official GAIA-Z on
 * fixtures written by tools/reference/zoo.py --fixtures test/fixtures/zoo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph, type CompileResult } from '../../src/compile/compiler.js';
import type { GaiaError } from '../../src/errors.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'zoo');
const ARCHS = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'expected.json')));

interface Expected {
  arch: string;
  taps_spec: string;
  hooks: number;
  /** How many grad_<i>.npy files hold the official gradient at each tap (pattern nets). */
  grads?: number;
  /** torchscript / dynamo (dynamic batch declared), *-default (torch's defaults: batch 1 fixed). */
  exporters: string[];
  /** Per exporter: whether it compiled, and the error it was refused with. */
  [exporter: string]: unknown;
}

interface ExportResult {
  compiled: boolean;
  error?: string[];
}

/** Per-sample |a − b| / |b|. */
function worstRelError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30));
  return worst;
}

it('has the fixtures', () => expect(ARCHS.length).toBeGreaterThanOrEqual(10));

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const input = readNpy(join(dir, 'input.npy'));
  const gaiaZ = readNpy(join(dir, 'gaia_z.npy')).data;
  const ratios = readNpy(join(dir, 'ratios.npy')).data;
  const batch = input.shape[0]!;

  for (const exporter of expected.exporters.filter((e) => !(expected[e] as ExportResult).compiled)) {
    it(`${arch} (${exporter} export): refused as the zoo recorded`, async () => {
      const model = await loadModel(join(dir, exporter, 'model.onnx'));
      const recorded = (expected[exporter] as ExportResult).error!.join(' ');
      const code = /\[(GAIA_[A-Z_]+)\]/.exec(recorded)![1];
      let caught: unknown;
      try {
        compileScoringGraph(model, { taps: expected.taps_spec });
      } catch (err) {
        caught = err;
      }
      expect((caught as GaiaError).code).toBe(code);
      expect((caught as GaiaError).message).toContain('fixed batch');
    });
  }

  for (const exporter of expected.exporters.filter((e) => (expected[e] as ExportResult).compiled)) {
    describe(`${arch} (${exporter} export)`, () => {
      let result: CompileResult;
      let out: Record<string, { data: Float32Array; dims: readonly number[] }>;

      beforeAll(async () => {
        const model = await loadModel(join(dir, exporter, 'model.onnx'));
        if (exporter.endsWith('-default')) expect(model.graph.inputs[0]!.shape![0]).toBe(1);
        result = compileScoringGraph(model, {
          taps: expected.taps_spec,
          heads: ['logits', 'gaia_z', 'gaia_z_ratios'],
          debug: expected.grads !== undefined,
        });
        out = await runModel(result.model, input);
      });

      it(`finds one tap per official hook (${expected.hooks}) with "${expected.taps_spec}"`, () => {
        expect(result.taps).toHaveLength(expected.hooks);
        // A default export fixes the batch; the compiler says it made it dynamic, and nothing
        // else but, for models whose official zero ratios are all 1, that GAIA-Z is uninformative.
        const uninformative = result.notes.filter((n) => n.startsWith('gaia_z: no tap reaches'));
        expect(result.notes.length - uninformative.length).toBe(exporter.endsWith('-default') ? 1 : 0);
        expect(uninformative.length === 1, 'the uninformative-GAIA-Z note').toBe(ratios.every((r) => r === 1));
      });

      it('matches the official GAIA-Z per sample (relative error ≤ 1e-5) and every zero ratio', () => {
        expect(worstRelError(out.gaia_z!.data, gaiaZ)).toBeLessThanOrEqual(1e-5);
        expect(out.gaia_z_ratios!.data.length).toBe(ratios.length);
        let differing = 0;
        out.gaia_z_ratios!.data.forEach((r, i) => (differing += Math.abs(r - ratios[i]!) > 1e-6 ? 1 : 0));
        expect(differing).toBe(0);
      });

      if (expected.grads !== undefined) it('matches the official gradient at every tap (≤ 1e-4 of its scale)', () => {
        for (let i = 0; i < expected.grads!; i++) {
          const ours = out[`debug/grad/${i}`]!.data;
          const ref = readNpy(join(dir, `grad_${i}.npy`)).data;
          expect(ours.length, `tap ${i}`).toBe(ref.length);
          let diff = 0;
          let scale = 0;
          ref.forEach((v, j) => {
            diff = Math.max(diff, Math.abs(ours[j]! - v));
            scale = Math.max(scale, Math.abs(v));
          });
          expect(diff / scale, `tap ${i}`).toBeLessThanOrEqual(1e-4);
        }
      });

      it('keeps the batch dynamic: one sample alone scores as in the batch', async () => {
        const per = input.data.length / batch;
        const one = await runModel(result.model, { data: input.data.slice(per, 2 * per), shape: [1, ...input.shape.slice(1)] });
        expect(Math.abs(one.gaia_z!.data[0]! - out.gaia_z!.data[1]!)).toBeLessThanOrEqual(1e-6 * Math.abs(out.gaia_z!.data[1]!));
      });
    });
  }
}
