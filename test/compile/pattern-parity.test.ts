/**
 * Pattern mode (src/compile/pattern) against the float backward and the official GAIA-Z on
 * every committed fixture: the parity fixtures (7 architectures × BN kept / folded) and the
 * bring-your-own-model zoo (both exporters). The zero ratios of both modes must agree
 * exactly; GAIA-Z must agree with the official value to 1e-6 (relative, per sample).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph, type CompileResult } from '../../src/compile/compiler.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy, type NpyArray } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const PARITY = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ZOO = join(import.meta.dirname, '..', 'fixtures', 'zoo');
const withExpected = (root: string) => readdirSync(root).filter((d) => existsSync(join(root, d, 'expected.json')));

interface Case {
  readonly name: string;
  readonly model: string;
  readonly taps?: string;
  readonly input: NpyArray;
  readonly gaiaZ: Float32Array;
  /** Official zero ratios, [B, K]. */
  readonly ratios: Float32Array;
  /** The spatial area of each ratio column (ratios × area = non-zero counts). */
  readonly areas: number[];
}

function parityCases(): Case[] {
  return withExpected(PARITY).flatMap((arch) => {
    const dir = join(PARITY, arch);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { taps: Array<{ shape: number[] }> };
    const input = readNpy(join(dir, 'input.npy'));
    const batch = input.shape[0]!;
    const areas = expected.taps.flatMap((t) => new Array<number>(t.shape[1]!).fill(t.shape.slice(2).reduce((a, c) => a * c, 1)));
    // ratio_<i>.npy is [B, C_i]; interleave into [B, K] as the gaia_z_ratios output is.
    const perTap = expected.taps.map((_, i) => readNpy(join(dir, `ratio_${i}.npy`)).data);
    const ratios = new Float32Array(batch * areas.length);
    for (let b = 0; b < batch; b++) {
      let k = 0;
      perTap.forEach((r, i) => {
        const c = expected.taps[i]!.shape[1]!;
        for (let j = 0; j < c; j++) ratios[b * areas.length + k++] = r[b * c + j]!;
      });
    }
    return ['model.onnx', 'model.folded.onnx'].map((file) => ({
      name: `parity/${arch} (${file})`,
      model: join(dir, file),
      input,
      gaiaZ: readNpy(join(dir, 'gaia_z.npy')).data,
      ratios,
      areas,
    }));
  });
}

function zooCases(): Case[] {
  return withExpected(ZOO).flatMap((arch) => {
    const dir = join(ZOO, arch);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown> & { taps_spec: string; exporters: string[] };
    return expected.exporters
      .filter((e) => (expected[e] as { compiled: boolean }).compiled)
      .map((exporter) => ({
        name: `zoo/${arch} (${exporter})`,
        model: join(dir, exporter, 'model.onnx'),
        taps: expected.taps_spec,
        input: readNpy(join(dir, 'input.npy')),
        gaiaZ: readNpy(join(dir, 'gaia_z.npy')).data,
        ratios: readNpy(join(dir, 'ratios.npy')).data,
        areas: [],
      }));
  });
}

const worstRel = (a: Float32Array, b: Float32Array) =>
  a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30)), 0);
const differing = (a: Float32Array, b: Float32Array) => a.reduce((n, v, i) => n + (Math.abs(v - b[i]!) > 1e-7 ? 1 : 0), 0);

for (const c of [...parityCases(), ...zooCases()]) {
  describe(`pattern mode: ${c.name}`, () => {
    let pattern: CompileResult;
    let outP: Record<string, { data: Float32Array }>;
    let outF: Record<string, { data: Float32Array }>;

    beforeAll(async () => {
      const model = await loadModel(c.model);
      const heads = ['logits', 'gaia_z', 'gaia_z_ratios'] as const;
      pattern = compileScoringGraph(model, { taps: c.taps, heads, gaiaZMode: 'pattern' });
      const float = compileScoringGraph(model, { taps: c.taps, heads });
      outP = await runModel(pattern.model, c.input);
      outF = await runModel(float.model, c.input);
    });

    it('builds the pattern pass (no fallback)', () => {
      expect(pattern.notes.filter((n) => n.startsWith('gaia_z: pattern mode'))).toEqual([]);
      expect(pattern.gaiaZMode).toBe('pattern');
    });

    it('gives the zero ratios of the float backward exactly, and the official GAIA-Z', () => {
      const p = outP.gaia_z_ratios!.data;
      const f = outF.gaia_z_ratios!.data;
      const report = {
        fixture: c.name,
        ratiosVsFloat: differing(p, f),
        ratiosVsOfficial: differing(p, c.ratios),
        floatVsOfficial: differing(f, c.ratios),
        gaiaZRelVsOfficial: worstRel(outP.gaia_z!.data, c.gaiaZ),
        floatGaiaZRelVsOfficial: worstRel(outF.gaia_z!.data, c.gaiaZ),
        ratios: p.length,
      };
      console.log(`PATTERN-PARITY ${JSON.stringify(report)}`);
      expect(report.ratiosVsFloat).toBe(0);
      expect(report.ratiosVsOfficial).toBe(report.floatVsOfficial);
      expect(report.gaiaZRelVsOfficial).toBeLessThanOrEqual(Math.max(1e-6, report.floatGaiaZRelVsOfficial));
    });
  });
}

describe('pattern mode keeps narrow patterns narrow', () => {
  // MobileNetV3's projection taps get a one-channel pattern and its SE blocks multiply one by
  // their gate: neither needs the pattern expanded to [B, C, H, W] (docs/COMPILER.md). The
  // only Expands left repeat a one-channel tap's [B, 1] ratios over its channels.
  it('has no full-size Expand in MobileNetV3-Small (torchscript export)', async () => {
    const model = await loadModel(join(ZOO, 'mobilenet_v3_small_w025', 'torchscript', 'model.onnx'));
    const { model: graph } = compileScoringGraph(model, { heads: ['logits', 'gaia_z'], gaiaZMode: 'pattern' });
    const constants = graph.graph.initializers;
    const expands = graph.graph.nodes.filter((n) => n.opType === 'Expand');
    expect(expands.length).toBeGreaterThan(0);
    for (const e of expands) expect(constants.get(e.inputs[1]!)?.dims, e.name).toEqual([2]);
  });
});
