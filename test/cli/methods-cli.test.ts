/**
 * Every method through the offline commands, in process, on the bundled fmnist-cnn package:
 * calibrate --stats-data (feature statistics stored, fingerprinted and digest-checked, every
 * method calibrated at 95% TPR), eval --methods all (one table), bench --methods, and the
 * refusals when statistics are missing or tampered with.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchCommand } from '../../src/cli/bench.js';
import { calibrateCommand } from '../../src/cli/calibrate.js';
import { compileCommand } from '../../src/cli/compile.js';
import { evalCommand } from '../../src/cli/eval.js';
import { METHOD_HEADS } from '../../src/compile/heads.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { readFeatureStats, type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { capture } from '../helpers/capture.js';

const MODEL = 'models/fmnist-cnn';
const ID = join(MODEL, 'samples', 'id');
const OOD = join(MODEL, 'samples', 'ood');
const TRAIN = join('test', 'fixtures', 'sets', 'fmnist-eval');

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof GaiaError ? e.code : String(e)));

describe('every method through calibrate, eval and bench', () => {
  let dir: string;
  let calibration: string;
  let plain: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gaia-methods-'));
    calibration = join(dir, 'methods.json');
    plain = join(dir, 'plain.json');
    await calibrateCommand(['--model', MODEL, '--data', ID, '--stats-data', TRAIN, '--methods', 'all', '--out', calibration], capture().io);
    await calibrateCommand(['--model', MODEL, '--data', ID, '--out', plain], capture().io);
  }, 300_000);

  it('calibrate --methods all without --stats-data refuses, naming the flag', async () => {
    const err = await calibrateCommand(['--model', MODEL, '--data', ID, '--methods', 'all', '--out', join(dir, 'x.json')], capture().io).catch((e: unknown) => e);
    expect((err as GaiaError).code).toBe(ErrorCodes.FEATURE_STATS);
    expect((err as GaiaError).message).toContain('--stats-data');
  });

  it('stores the feature statistics with the calibration and calibrates every method at 95% TPR', async () => {
    const c = JSON.parse(await readFile(calibration, 'utf8')) as CalibrationFile;
    expect(Object.keys(c.heads).sort()).toEqual([...METHOD_HEADS].sort());
    // 512 frames, continuous scores: index round(25.6) = 26 → 27 frames at or past it, for every head
    for (const [h, head] of Object.entries(c.heads)) expect(head.flagRate, h).toBeCloseTo(27 / 512, 9);
    expect(c.featureStats!.frames).toBe(5000);
    expect(c.featureStats!.fingerprint).toBe(c.fingerprint);
    const stats = await readFeatureStats(calibration);
    expect(stats.numClasses).toBe(10);
    expect(stats.classMeans.length).toBe(10 * stats.dim);
    expect(stats.reactThreshold).toBeGreaterThan(0);
  });

  it('stores the post-GAIA heads\' statistics: a knn bank of 4096 of the 5000 frames (k 4), fdbd\'s mean, vim\'s subspace', async () => {
    const stats = await readFeatureStats(calibration);
    expect(stats.knn).toMatchObject({ rows: 4096, k: 4 });
    expect(stats.knn!.bank.length).toBe(4096 * stats.dim);
    expect(stats.featureMean!.length).toBe(stats.dim);
    expect(stats.vim!.principalDim).toBe(Math.floor(stats.dim / 2));
    // A calibration without them (made before these heads) still loads for the others, and knn refuses to compile, saying to recalibrate.
    const c = JSON.parse(await readFile(calibration, 'utf8')) as CalibrationFile & { featureStats: Record<string, unknown> };
    const { knn: _k, featureMean: _m, vim: _v, ...older } = c.featureStats;
    expect(older.digest).not.toBe(undefined);
    const edited = join(dir, 'bank-edited.json');
    await writeFile(edited, JSON.stringify({ ...c, featureStats: { ...c.featureStats, knn: { ...(c.featureStats.knn as object), k: 5 } } }));
    expect((await readFeatureStats(edited).catch((e: unknown) => e) as GaiaError).message).toContain('digest');
  });

  it('refuses statistics that were edited after calibrate wrote them', async () => {
    const c = JSON.parse(await readFile(calibration, 'utf8')) as CalibrationFile & { featureStats: { reactThreshold: number } };
    c.featureStats.reactThreshold *= 2;
    const edited = join(dir, 'edited.json');
    await writeFile(edited, JSON.stringify(c));
    const err = await readFeatureStats(edited).catch((e: unknown) => e);
    expect((err as GaiaError).code).toBe(ErrorCodes.FEATURE_STATS);
    expect((err as GaiaError).message).toContain('digest');
  });

  it('eval --methods all writes one table with every method', async () => {
    const out = capture();
    const reports = join(dir, 'reports');
    await evalCommand(['--model', MODEL, '--id', ID, '--ood', OOD, '--methods', 'all', '--calibration', calibration, '--out-dir', reports], out.io);
    const json = JSON.parse(await readFile(join(reports, 'eval-fmnist-cnn.json'), 'utf8'));
    // Every method, and the calibration's verdict rule beside them.
    expect(json.heads).toEqual([...METHOD_HEADS, 'verdict']);
    for (const h of METHOD_HEADS) expect(json.results[h].ood.auroc, h).toBeGreaterThan(0);
    for (const label of ['| ODIN |', '| ReAct |', '| GradNorm |', '| RankFeat |', '| Mahalanobis |', '| GAIA-A (fusion, q = 2) |', '| KNN |', '| fDBD |', '| ViM |', '| GEN |', '| SCALE |']) {
      expect(out.stdout).toContain(label);
    }
    expect(json.flagRates.mahalanobis).toBeCloseTo(27 / 512, 9); // same frames as calibration
  }, 300_000);

  it('eval of react with a calibration that has no statistics refuses, saying how to make them', async () => {
    expect(await codeOf(evalCommand(['--model', MODEL, '--id', ID, '--ood', OOD, '--methods', 'react', '--calibration', plain, '--out-dir', dir], capture().io))).toBe(
      ErrorCodes.FEATURE_STATS,
    );
  });

  it('compile builds react and mahalanobis from a calibration, and refuses without one', async () => {
    const args = ['--model', join(MODEL, 'model.onnx'), '--out', join(dir, 'stats.gaia.onnx'), '--heads', 'logits,react,mahalanobis,odin'];
    expect(await codeOf(compileCommand(args, capture().io))).toBe(ErrorCodes.FEATURE_STATS);
    const out = capture();
    await compileCommand([...args, '--calibration', calibration, '--odin-epsilon', '0'], out.io);
    expect(out.stdout).toContain('heads: logits, react, mahalanobis, odin');
    expect(await codeOf(compileCommand([...args, '--calibration', calibration, '--odin-epsilon=-1'], capture().io))).toBe(ErrorCodes.BAD_CONFIG);
  });

  it('bench prints ms/image per method and batch, the forward-only classifier first', async () => {
    const out = capture();
    await benchCommand(['--model', MODEL, '--methods', 'gradnorm,odin,mahalanobis', '--batches', '1,4', '--seconds', '0.05', '--threads', '1', '--calibration', calibration], out.io);
    const rows = out.stdout.split('\n').filter((l) => /^\| [^m-]/.test(l) && !l.startsWith('|---'));
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual(['forward only (classifier)', 'GradNorm', 'ODIN', 'Mahalanobis']);
    for (const r of rows) {
      const cells = r.split('|').slice(2, 4).map((c) => Number(c.trim()));
      expect(cells.every((v) => v > 0 && Number.isFinite(v)), r).toBe(true);
    }
  }, 120_000);
});
