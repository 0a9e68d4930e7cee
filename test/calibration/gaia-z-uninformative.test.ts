/**
 * GAIA-Z counts exact zeros of the gradient; on a network whose taps reach the logits only
 * through smooth activations (SiLU) no entry is zero, every zero ratio is 1 and the score is
 * the same for every frame. The compiler foresees it (zoo.test.ts checks the note);
 * calibrate confirms it on the calibration frames: it prints the compiler's note and a
 * warning with the measured spread and the heads that still rank, leaves GAIA-Z out of the
 * default verdict rule and makes a head that ranks the primary one. On a HardSwish network
 * (MobileNetV3) neither appears. The SiLU net is tools/reference/make_smooth_net.py's.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { evalCommand } from '../../src/cli/eval.js';
import { isNearConstant } from '../../src/detect/calibration.js';
import { loadCalibration } from '../../src/calibration/calibration-check.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { capture } from '../helpers/capture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ZOO = join(ROOT, 'test', 'fixtures', 'zoo');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-uninformative-'));
const frames = join(tmp, 'frames');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A model package around a 32×32 RGB, 10-class fixture. The zoo's MobileNetV3 has random
 * weights whose logits barely move between frames (MSP and energy are near constant too);
 * `gain` scales its last Gemm's weights so that they rank frames as a trained head would.
 */
async function packageOf(arch: string, file: string, output: string, gain = 1): Promise<string> {
  const dir = join(tmp, arch);
  mkdirSync(dir);
  const model = await loadModel(file);
  const gemm = model.graph.nodes.filter((n) => n.opType === 'Gemm').at(-1)!;
  const w = model.graph.initializers.get(gemm.inputs[1]!)!;
  const initializers = new Map(model.graph.initializers).set(w.name, Tensor.float32(w.name, w.dims, w.toFloat32().map((v) => v * gain)));
  writeFileSync(join(dir, 'model.onnx'), encodeModel({ ...model, graph: { ...model.graph, initializers } }));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      name: arch,
      input: { name: 'input', shape: [null, 3, 32, 32], channels: 'rgb', resize: { mode: 'fill', width: 32, height: 32 }, scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      output: { name: output, kind: 'logits' },
      labels: Array.from({ length: 10 }, (_, i) => `c${i}`),
    }),
  );
  return dir;
}

let smooth: string;
let mobilenet: string;
beforeAll(async () => {
  smooth = await packageOf('smooth-net', join(ROOT, 'test', 'fixtures', 'smooth-net', 'model.onnx'), 'logits');
  mobilenet = await packageOf('mobilenet', join(ZOO, 'mobilenet_v3_small_w025', 'torchscript', 'model.onnx'), '401', 1e4);
  mkdirSync(frames);
  for (const n of readdirSync(join(SAMPLES, 'id')).sort().slice(0, 40)) copyFileSync(join(SAMPLES, 'id', n), join(frames, n));
});

describe('GAIA-Z on a network with only smooth activations', () => {
  it('calibrate confirms the compiler note on the frames, names the heads that rank, and keeps GAIA-Z out of the rule', async () => {
    const out = join(tmp, 'smooth.json');
    const cal = capture();
    await calibrateCommand(['--model', smooth, '--data', frames, '--out', out, '--min-frames', '20'], cal.io);
    expect(cal.stderr).toMatch(/note: gaia_z: no tap reaches the logits/);
    expect(cal.stderr).toMatch(
      /warning: gaia_z is near constant on the 40 calibration frames \(q05 1\.00000, q95 1\.00000; p0 = 100\.0%, not 5%\), as the compiler foresaw .*: it cannot tell frames apart on this model\. The heads that still rank these frames: gaia_a, msp, energy\. The verdict rule leaves it out\./,
    );
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(isNearConstant(file.heads.gaia_z)).toBe(true);
    expect(file.heads.gaia_z.flagRate).toBe(1);
    // The classifier heads of the rule (the default rule adds the input heads the frames measure).
    expect(file.verdict.heads.filter((h: string) => !h.startsWith('input_'))).toEqual(['energy']);
    expect(file.primaryHead).toBe('gaia_a');
    for (const h of ['gaia_a', 'msp', 'energy']) expect(isNearConstant(file.heads[h])).toBe(false);

    // --json carries the same finding for scripts.
    const json = capture();
    await calibrateCommand(['--model', smooth, '--data', frames, '--out', out, '--min-frames', '20', '--json', '--force'], json.io);
    const summary = JSON.parse(json.stdout);
    expect(summary.nearConstant).toEqual(['gaia_z']);
    expect(summary.warnings[0]).toMatch(/^gaia_z is near constant/);

    // Asked for by name, it is refused: nothing is written.
    const before = readFileSync(out, 'utf8');
    const err = await calibrateCommand(['--model', smooth, '--data', frames, '--out', out, '--min-frames', '20', '--verdict-heads', 'gaia_z,energy', '--force'], capture().io).catch((e: unknown) => e);
    expect((err as GaiaError).code).toBe(ErrorCodes.BAD_CONFIG);
    expect((err as GaiaError).message).toMatch(/^--verdict-heads gaia_z,energy: gaia_z is near constant .* nothing was written\. Drop gaia_z from --verdict-heads$/);
    expect(readFileSync(out, 'utf8')).toBe(before);

    // Judging with the constant head alone (model.verdictHead) is refused at load, saying why.
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    const agentErr = await loadCalibration(out, { model: 'smooth-net', fingerprint: stored.fingerprint, head: 'gaia_z' }).catch((e: unknown) => e);
    await expect(loadCalibration(out, { model: 'smooth-net', fingerprint: stored.fingerprint })).resolves.toBeDefined();
    expect((agentErr as GaiaError).message).toMatch(/heads\.gaia_z flags every calibration frame \(p0 = 100%\).*cannot judge this model/);

    // eval prints the compiler's note too.
    const ev = capture();
    await evalCommand(['--model', smooth, '--id', frames, '--ood', join(SAMPLES, 'ood'), '--calibration', out, '--out-dir', join(tmp, 'reports')], ev.io);
    expect(ev.stderr).toMatch(/note: gaia_z: no tap reaches the logits/);
  }, 120_000);

  it('a HardSwish network: no note, no warning, GAIA-Z in the rule', async () => {
    const out = join(tmp, 'mobilenet.json');
    const cal = capture();
    await calibrateCommand(['--model', mobilenet, '--data', frames, '--out', out, '--min-frames', '20'], cal.io);
    expect(cal.stderr).not.toMatch(/no tap reaches|near constant/);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(isNearConstant(file.heads.gaia_z)).toBe(false);
    expect(file.primaryHead).toBe('gaia_z');
    expect(file.verdict.heads).toContain('gaia_z');
  }, 120_000);
});
