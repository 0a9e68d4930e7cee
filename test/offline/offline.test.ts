/**
 * calibrate and eval, in process, on the bundled fmnist-cnn package and its sample frames:
 * calibration round trip, fingerprint mismatch, folders with bad files, reports.
 */
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { evalCommand } from '../../src/cli/eval.js';
import { calibrateHead, isFlagged } from '../../src/detect/calibration.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { loadCalibration } from '../../src/calibration/calibration-check.js';
import { modelFingerprint } from '../../src/model/fingerprint.js';
import { capture } from '../helpers/capture.js';

const MODEL = 'models/fmnist-cnn';
const SAMPLES = join(MODEL, 'samples');

describe('calibrateHead', () => {
  it('puts the TPR-95 threshold at sort(s)[round(0.05 n)] and flags about 5%', () => {
    const raw = Float32Array.from({ length: 1000 }, (_, i) => i / 1000); // GAIA-Z-like: higher = more OOD
    const c = calibrateHead(raw, -1, { bootstrapSamples: 200, seed: 7, histogramBins: 10 });
    // ID-scores -raw sorted ascending: -0.999, -0.998, ...; index round(50) = 50 → -0.949.
    expect(c.rawThreshold).toBeCloseTo(0.949, 6);
    expect(c.flagRate).toBeCloseTo(0.051, 9); // raw ≥ 0.949: 51 of 1000
    expect(isFlagged(0.95, c)).toBe(true);
    expect(isFlagged(0.9, c)).toBe(false);
    const [lo, hi] = c.rawThresholdInterval95;
    expect(lo).toBeLessThanOrEqual(c.rawThreshold);
    expect(hi).toBeGreaterThanOrEqual(c.rawThreshold);
    expect(c.histogram.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    const qs = Object.values(c.quantiles);
    expect([...qs].sort((a, b) => a - b)).toEqual(qs);
  });
});

describe('calibrate and eval commands', () => {
  let dir: string;
  let calibration: string;
  let fingerprint: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gaia-offline-'));
    calibration = join(dir, 'fmnist-cnn.json');
    const pkg = await loadModelPackage(MODEL);
    fingerprint = modelFingerprint(await loadModel(pkg.modelPath), 'bn', pkg.manifest);
  });

  it('writes a calibration that loads back for the same model and preprocessing', async () => {
    const out = capture();
    await calibrateCommand(['--model', MODEL, '--data', join(SAMPLES, 'id'), '--out', calibration], out.io);
    expect(out.stdout).toMatch(/calibrated fmnist-cnn on 512 frames of id \(0 skipped\)/);
    const written = JSON.parse(await readFile(calibration, 'utf8')) as CalibrationFile;
    const loaded = await loadCalibration(calibration, { model: 'fmnist-cnn', fingerprint });
    expect(loaded).toEqual(written);
    expect(loaded.data.frames).toBe(512);
    expect(Object.keys(loaded.heads).sort()).toEqual(['energy', 'gaia_a', 'gaia_z', 'msp']);
    expect(loaded.heads.gaia_z!.flagRate).toBeCloseTo(27 / 512, 9); // index round(25.6) = 26 → 27 frames at or past it
    expect(out.stderr).toMatch(/calibrate id: 512\/512 \(100%\)/);
  });

  it('--json prints one object with the output path, the data and every head\'s threshold', async () => {
    const out = capture();
    const target = join(dir, 'json.json');
    await calibrateCommand(['--model', MODEL, '--data', join(SAMPLES, 'id'), '--out', target, '--json'], out.io);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!);
    const written = JSON.parse(await readFile(target, 'utf8')) as CalibrationFile;
    expect(summary).toMatchObject({ out: target, model: 'fmnist-cnn', fingerprint: written.fingerprint, data: { frames: 512, rejected: 0 }, primaryHead: 'gaia_z' });
    expect(summary.heads.gaia_z.rawThreshold).toBe(written.heads.gaia_z!.rawThreshold);
    expect(Object.keys(summary.heads).sort()).toEqual(['energy', 'gaia_a', 'gaia_z', 'msp']);
  });

  it('refuses a calibration made for another model or tap selection, naming the model it was made for', async () => {
    const pkg = await loadModelPackage(MODEL);
    const other = modelFingerprint(await loadModel(pkg.modelPath), 'stages:1', pkg.manifest);
    expect(other).not.toBe(fingerprint);
    const err = await loadCalibration(calibration, { model: 'fmnist-cnn', fingerprint: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GaiaError);
    expect((err as GaiaError).code).toBe(ErrorCodes.CALIBRATION_MISMATCH);
    expect((err as GaiaError).message).toContain('was made for model "fmnist-cnn"');
    expect((err as GaiaError).message).toContain('gaia-sentinel calibrate');
  });

  describe('a folder with a corrupt file and a non-image file', () => {
    let folder: string;
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'gaia-bad-folder-'));
      for (const f of ['fmnist-test-0172-2.png', 'fmnist-test-0233-2.png', 'fmnist-test-0473-7.png']) {
        await copyFile(join(SAMPLES, 'id', f), join(folder, f));
      }
      const png = await readFile(join(SAMPLES, 'id', 'fmnist-test-0172-2.png'));
      await writeFile(join(folder, 'truncated.png'), png.subarray(0, 40));
      await writeFile(join(folder, 'notes.txt'), 'camera 7 was moved on Tuesday\n');
    });

    it('skips them by default and names each file (a set this small and dirty only on purpose)', async () => {
      const out = capture();
      await calibrateCommand(['--model', MODEL, '--data', folder, '--out', join(dir, 'skip.json'), '--min-frames', '3', '--max-rejected', '0.5'], out.io);
      expect(out.stdout).toMatch(/on 3 frames .* \(2 skipped\)/);
      expect(out.stderr).toContain(`skipped ${join(folder, 'notes.txt')}`);
      expect(out.stderr).toContain(`skipped ${join(folder, 'truncated.png')}`);
    });

    it('refuses the set by default: 2 of 5 rejected is over --max-rejected 0.05, nothing written', async () => {
      const out = capture();
      const target = join(dir, 'dirty.json');
      const err = await calibrateCommand(['--model', MODEL, '--data', folder, '--out', target, '--min-frames', '3'], out.io).catch((e: unknown) => e);
      expect((err as GaiaError).code).toBe(ErrorCodes.CALIBRATION_DATA);
      expect((err as GaiaError).message).toMatch(/2 of the 5 frames .* \(40\.0%\) were rejected, more than --max-rejected 0\.05/);
      expect((err as GaiaError).message).toContain('--max-rejected 0.40');
      await expect(readFile(target)).rejects.toThrow(/ENOENT/);
    });

    it('refuses 3 frames by default (fewer than --min-frames 200), saying how to accept them', async () => {
      const target = join(dir, 'few.json');
      const err = await calibrateCommand(['--model', MODEL, '--data', folder, '--out', target, '--max-rejected', '0.5'], capture().io).catch((e: unknown) => e);
      expect((err as GaiaError).code).toBe(ErrorCodes.CALIBRATION_DATA);
      expect((err as GaiaError).message).toMatch(/only 3 frames of .* could be scored \(2 rejected\), fewer than --min-frames 200/);
      expect((err as GaiaError).message).toContain('--min-frames 3');
      await expect(readFile(target)).rejects.toThrow(/ENOENT/);
    });

    it('rejects a malformed --min-frames / --max-rejected as GAIA_BAD_CONFIG', async () => {
      for (const args of [['--min-frames', '0'], ['--min-frames', '2.5'], ['--max-rejected', '1.5'], ['--max-rejected', 'lots']]) {
        const err = await calibrateCommand(['--model', MODEL, '--data', folder, ...args], capture().io).catch((e: unknown) => e);
        expect((err as GaiaError).code, args.join(' ')).toBe(ErrorCodes.BAD_CONFIG);
        expect((err as GaiaError).message).toContain(args[0]);
      }
    });

    it('stops at the first one with --on-bad-frame stop, naming the file', async () => {
      const err = await calibrateCommand(['--model', MODEL, '--data', folder, '--out', join(dir, 'stop.json'), '--on-bad-frame', 'stop'], capture().io).catch(
        (e: unknown) => e,
      );
      expect((err as GaiaError).code).toBe(ErrorCodes.BAD_FRAME);
      expect((err as GaiaError).message).toContain(join(folder, 'notes.txt'));
      expect((err as GaiaError).message).toContain('--on-bad-frame skip');
    });
  });

  it('evaluates ID vs OOD sets into JSON, Markdown and an ROC SVG', async () => {
    const out = capture();
    const reports = join(dir, 'reports');
    const framesOut = join(reports, 'frames.ndjson');
    await evalCommand(['--model', MODEL, '--id', join(SAMPLES, 'id'), '--ood', join(SAMPLES, 'ood'), '--calibration', calibration, '--out-dir', reports, '--frames-out', framesOut], out.io);
    const json = JSON.parse(await readFile(join(reports, 'eval-fmnist-cnn.json'), 'utf8'));
    // The agent's verdict rule is reported beside the single heads, as the method `verdict`.
    expect(json.heads).toEqual(['gaia_z', 'gaia_a', 'msp', 'energy', 'verdict']);
    // Without --stats-data: GAIA-Z, Energy (in ViM's place) and the input heads of the default rule.
    const heads = ['gaia_z', 'energy', 'input_exposure', 'input_contrast', 'input_sharpness', 'input_detail', 'input_octave', 'input_noise', 'input_colourfulness', 'input_flat'];
    expect(json.verdict).toMatchObject({ name: 'verdict', heads, rule: expect.stringMatching(new RegExp(`^two-group\\(${heads.join(', ')}\\) ≤ -?\\d`)) });
    expect(json.results.verdict.ood.auroc).toBeGreaterThan(0.9);
    // On its own calibration frames each frame counts itself among the reference: flagged less
    // often than p0 (512 frames, ten heads under two-group).
    expect(json.flagRates.verdict).toBeGreaterThan(0.02);
    expect(json.flagRates.verdict).toBeLessThanOrEqual(json.verdict.flagRate);
    expect(json.results.gaia_z.ood.auroc).toBeGreaterThan(0.9);
    expect(json.results.msp.ood.auroc).toBeLessThan(0.6); // the bundled model is confidently wrong on digits
    expect(json.flagRates.gaia_z).toBeCloseTo(27 / 512, 9); // same frames as calibration
    const md = await readFile(join(reports, 'eval-fmnist-cnn.md'), 'utf8');
    expect(md).toContain('| GAIA-Z |');
    expect(md).toContain('| verdict rule |');
    // --frames-out: one line per set, every frame's verdict and raw head scores.
    const sets = (await readFile(framesOut, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(sets.map((x) => [x.set, x.id, x.count])).toEqual([['id', true, 512], ['ood', false, 512]]);
    for (const x of sets) {
      expect(x.pValue).toHaveLength(512);
      expect(x.flagged).toHaveLength(512);
      expect(Object.keys(x.scores).sort()).toEqual(['energy', 'gaia_a', 'gaia_z', 'msp']);
      expect(x.pValue.every((p: number) => p > 0 && p <= 1)).toBe(true);
    }
    expect(sets[0].flagged.reduce((a: number, f: number) => a + f, 0) / 512).toBeCloseTo(json.flagRates.verdict, 9);
    const svg = await readFile(join(reports, 'eval-fmnist-cnn-roc.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ID vs ood');
    expect(out.stdout).toContain('wrote');
  });
});
