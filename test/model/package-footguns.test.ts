/**
 * The footguns of a user's own model package (issue #22), each one refused or fixed: a
 * manifest with an unknown or misspelt key, an unsupported grey conversion, an input or
 * output name the graph does not have, or channels the graph does not take; `compile --out`
 * equal to `--model`, a scoring graph given as the classifier, an `--out` folder that does not
 * exist; `calibrate` replacing a calibration without `--force`, or writing one that cannot
 * judge; the installed CLI run from another folder; and another model's calibration, which
 * must be refused as such, not as a feature-statistics problem.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import { loadModelPackage, validateManifest } from '../../src/model/manifest.js';
import { openModel } from '../../src/model/open-model.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CAMERA = join(ROOT, 'test', 'fixtures', 'camera-model');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-footguns-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), ...args], { cwd, env: cleanEnv({ GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0' }), timeout: 120_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });
}

const manifest = () => ({
  name: 'camera',
  input: { name: 'image', shape: [null, 3, 224, 224], channels: 'rgb', resize: { mode: 'cover', width: 224, height: 224, crop: 0.875 }, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  output: { name: 'class_logits', kind: 'logits' },
  labels: ['dock', 'gate', 'yard', 'ramp', 'lane', 'bay'],
});

function refused(edit: (m: Record<string, any>) => void): string {
  const m = manifest() as Record<string, any>;
  edit(m);
  try {
    validateManifest(m, 'pkg/manifest.json');
  } catch (err) {
    expect((err as GaiaError).code).toBe(ErrorCodes.BAD_CONFIG);
    return (err as Error).message;
  }
  throw new Error('the manifest was accepted');
}

/** A package of the camera model with this manifest. */
function cameraPackage(name: string, m: object): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(CAMERA, 'model.onnx'), join(dir, 'model.onnx'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

async function opened(dir: string): Promise<string> {
  try {
    const o = await openModel(await loadModelPackage(dir), { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: 1, taps: 'bn' });
    await o.scorer.close();
  } catch (err) {
    return (err as Error).message;
  }
  return 'opened';
}

describe('the manifest, against its schema and the graph', () => {
  it('refuses an unknown key, a misspelt one, and a grey conversion it does not have, naming the field', () => {
    expect(refused((m) => (m.input.resize.interpolaton = 'bicubic'))).toMatch(/"input\.resize\.interpolaton" is not a manifest field/);
    expect(refused((m) => (m.colour = 'rgb'))).toMatch(/"colour" is not a manifest field/);
    expect(refused((m) => (m.input.gray = 'average'))).toMatch(/"input\.gray" must be "bt601"/);
    expect(refused((m) => (m.input.resize.crop = 1.5))).toMatch(/"input\.resize\.crop"/);
  });

  it('refuses an input name, an output name or channels the graph does not have, naming the field and what the graph has', async () => {
    expect(await opened(cameraPackage('in', { ...manifest(), input: { ...manifest().input, name: 'input' } }))).toMatch(/"input\.name" is "input", which is not an input of .*model\.onnx \(its inputs: "image"\)/);
    expect(await opened(cameraPackage('out', { ...manifest(), output: { name: 'probs', kind: 'logits' } }))).toMatch(/"output\.name" is "probs", but .*has no such output \("class_logits"\)/);
    const grey = { ...manifest(), input: { ...manifest().input, shape: [null, 1, 224, 224], channels: 'gray', mean: [0.5], std: [0.25] } };
    expect(await opened(cameraPackage('grey', grey))).toMatch(/"input\.channels" gives 1 channel, but .*input has 3/);
    expect(await opened(cameraPackage('ok', manifest()))).toBe('opened');
  });
});

describe('compile', () => {
  it('refuses --out equal to --model and leaves the model as it was', async () => {
    const model = join(tmp, 'same.onnx');
    copyFileSync(join(CAMERA, 'model.onnx'), model);
    const before = readFileSync(model);
    const r = await cli(['compile', '--model', model, '--out', model]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would overwrite its input/);
    expect(readFileSync(model).equals(before)).toBe(true);
  });

  it('refuses a scoring graph as its input, naming what it is', async () => {
    const graph = join(tmp, 'compiled.gaia.onnx');
    expect((await cli(['compile', '--model', join(CAMERA, 'model.onnx'), '--out', graph])).code).toBe(0);
    const r = await cli(['compile', '--model', graph, '--out', join(tmp, 'twice.onnx')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is already a gaia-sentinel scoring graph \(outputs .*gaia_z/);
    expect(r.stderr).not.toMatch(/OneHot/);
  });

  it('creates a missing --out folder', async () => {
    const out = join(tmp, 'new', 'folder', 'model.gaia.onnx');
    const r = await cli(['compile', '--model', join(CAMERA, 'model.onnx'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});

const shippedNow = () => Object.fromEntries(readdirSync(join(ROOT, 'calibration')).map((f) => [f, readFileSync(join(ROOT, 'calibration', f), 'utf8')]));
const shippedBefore = shippedNow();

describe('calibrate', () => {
  let pkg: string;
  let frames: string;
  beforeAll(() => {
    pkg = cameraPackage('cal', manifest());
    frames = join(tmp, 'cal-frames');
    mkdirSync(frames);
    const samples = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
    for (const n of readdirSync(samples).sort().slice(0, 40)) copyFileSync(join(samples, n), join(frames, n));
  });

  it('writes into the package by default, and refuses to replace a calibration without --force', async () => {
    const first = await cli(['calibrate', '--model', pkg, '--data', frames, '--min-frames', '20']);
    expect(first.code, first.stderr).toBe(0);
    const written = readFileSync(join(pkg, 'calibration.json'), 'utf8');
    const again = await cli(['calibrate', '--model', pkg, '--data', frames, '--min-frames', '20']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/calibration\.json exists: pass --force/);
    expect(readFileSync(join(pkg, 'calibration.json'), 'utf8')).toBe(written);
    expect((await cli(['calibrate', '--model', pkg, '--data', frames, '--min-frames', '20', '--force'])).code).toBe(0);
  }, 120_000);

  it('never touches the shipped calibrations', () => {
    // (Read before this file's calibrate runs, in beforeAll, and again now.)
    expect(shippedNow()).toEqual(shippedBefore);
  });
});

describe('the installed CLI and the bundled example', () => {
  it('runs the bundled example from any folder', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'gaia-elsewhere-'));
    try {
      const r = await cli(['run', '--json'], elsewhere);
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      expect(r.stdout).toMatch(/drift\.started/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 120_000);

  it("refuses another model's calibration as such", async () => {
    const r = await cli(['run'], ROOT);
    expect(r.code).toBe(0);
    const other = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), 'run'], { cwd: ROOT, env: cleanEnv({ GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_TELEMETRY_PORT: '0', GAIA_CALIBRATION: join(ROOT, 'calibration', 'fmnist-resnet18.json') }) }, (err, _o, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/is a calibration of model "fmnist-resnet18", not of "fmnist-cnn"/);
    expect(other.stderr).not.toMatch(/stats-data/);
  }, 120_000);
});
