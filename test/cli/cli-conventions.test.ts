/**
 * One command-line convention across every subcommand (clig.dev), spawned as users run it:
 * usage errors exit 2; `help <command>` and `<command> --help` print that command's usage;
 * every command takes --json, and a failure under it is one JSON line on stderr; `all` means
 * every method for --heads as for --methods; `--taps stages:N` past the model's stages is
 * refused; no stack trace for an expected failure; a missed shutdown deadline is transient
 * (75); --model says which kind of path each command takes. bin/ runs dist/: build first.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_HEADS } from '../../src/compile/heads.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RESNET = 'test/fixtures/parity/resnet_basic/model.onnx';
const PACKAGE = 'models/fmnist-cnn';
/** The committed calibration of PACKAGE, with feature statistics (react, mahalanobis) and a verdict rule. */
const CALIBRATION = 'calibration/fmnist-cnn.json';
const COMMANDS = ['run', 'init', 'compile', 'calibrate', 'eval', 'produce', 'bench', 'dashboard-snapshot'];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const options = { cwd: ROOT, env: cleanEnv({ GAIA_EXECUTION_PROVIDERS: 'cpu', ...env }), timeout: 120_000, maxBuffer: 16 << 20 };
    execFile(process.execPath, ['bin/gaia-sentinel.js', ...args], options, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });
}

/** stderr's lines, without the trailing newline. */
const lines = (text: string) => text.trimEnd().split('\n').filter((l) => l !== '');
/** No JavaScript stack frame, and not the catch-all for bugs. */
const clean = (r: Result) => {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('unexpected error');
};

let tmp: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` before the CLI tests');
  tmp = mkdtempSync(join(tmpdir(), 'gaia-cli-conventions-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('usage errors exit 2 in every command', () => {
  it('a tap selection that is not one (--taps) exits 2 like an unknown head (--heads)', async () => {
    const taps = await cli(['compile', '--model', RESNET, '--out', join(tmp, 't.onnx'), '--taps', 'frobnicate']);
    expect(taps.code).toBe(2);
    expect(taps.stderr).toContain('[GAIA_BAD_TAPS]');
    const heads = await cli(['compile', '--model', RESNET, '--out', join(tmp, 't.onnx'), '--heads', 'frobnicate']);
    expect(heads.code).toBe(2);
    expect(heads.stderr).toContain('[GAIA_BAD_CONFIG]');
  });

  it('an unknown option is GAIA_BAD_CONFIG with exit 2, the usage after the one error line', async () => {
    const r = await cli(['eval', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)[0]).toMatch(/^gaia-sentinel eval: .*--frobnicate.*\[GAIA_BAD_CONFIG\]$/);
    expect(r.stderr).toContain('Usage: gaia-sentinel eval');
  });
});

describe('help', () => {
  it.each(COMMANDS)('help %s and <command> --help print its usage on stdout and exit 0', async (name) => {
    const viaHelp = await cli(['help', name]);
    const viaFlag = await cli([name, '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaFlag.code).toBe(0);
    expect(viaHelp.stdout).toContain(`Usage: gaia-sentinel ${name}`);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stderr).toBe('');
  });

  it('help of an unknown command exits 2 naming it', async () => {
    const r = await cli(['help', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('--json', () => {
  const needs: Record<string, string[]> = { run: [], init: [], compile: ['--model', RESNET], calibrate: [], eval: [], produce: [], bench: [], 'dashboard-snapshot': [] };

  it.each(COMMANDS)('%s takes --json: a usage error under it is exactly one JSON line on stderr', async (name) => {
    const r = await cli([name, ...needs[name]!, '--json'], name === 'run' ? { GAIA_MAX_BATCH: '0' } : {});
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { command: name, code: 'GAIA_BAD_CONFIG', retriable: false } });
    expect(r.stdout).toBe('');
  });

  it('a failed compile --json prints one JSON line on stderr, not the text line after it', async () => {
    const r = await cli(['compile', '--model', 'README.md', '--out', join(tmp, 'never.onnx'), '--json']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { command: 'compile', code: 'GAIA_ONNX_PARSE' } });
  });

  it('eval --json prints one object: what it wrote and FPR95/AUROC per method', async () => {
    const sets = ['id', 'ood'].map((kind) => {
      const dir = join(tmp, `eval-${kind}`);
      mkdirSync(dir);
      const from = join(ROOT, PACKAGE, 'samples', kind);
      for (const f of readdirSync(from).sort().slice(0, 24)) copyFileSync(join(from, f), join(dir, f));
      return dir;
    });
    const out = join(tmp, 'eval-reports');
    const r = await cli(['eval', '--model', PACKAGE, '--id', sets[0]!, '--ood', sets[1]!, '--calibration', CALIBRATION, '--out-dir', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.wrote).toEqual([join(out, 'eval-fmnist-cnn.md'), join(out, 'eval-fmnist-cnn.json'), join(out, 'eval-fmnist-cnn-roc.svg')]);
    for (const file of summary.wrote) expect(existsSync(file), file).toBe(true);
    expect(summary).toMatchObject({ model: 'fmnist-cnn', id: { frames: 24 }, ood: [{ frames: 24 }] });
    for (const m of ['gaia_z', 'msp', 'energy', 'verdict']) {
      expect(summary.methods[m], m).toMatchObject({ fpr95: expect.any(Number), auroc: expect.any(Number) });
    }
    const written = JSON.parse(readFileSync(join(out, 'eval-fmnist-cnn.json'), 'utf8'));
    expect(summary.methods.gaia_z).toEqual(written.average.gaia_z);
  });
});

describe('--heads all means what --methods all means', () => {
  it('compile --heads all builds the logits and every method', async () => {
    const args = ['compile', '--model', join(PACKAGE, 'model.onnx'), '--out', join(tmp, 'all.onnx'), '--heads', 'all', '--json'];
    // Statistics of every head that needs them (the committed calibration predates knn, fdbd, vim and layer_mahalanobis).
    const calibration = join(tmp, 'stats.json');
    const made = await cli(['calibrate', '--model', PACKAGE, '--data', join(PACKAGE, 'samples', 'id'), '--stats-data', join('test', 'fixtures', 'sets', 'fmnist-eval'), '--methods', 'energy,react,mahalanobis,knn,fdbd,vim,layer_mahalanobis', '--out', calibration, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const r = await cli([...args, '--calibration', calibration]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).heads).toEqual(['logits', ...METHOD_HEADS]);
    // As calibrate --methods all without --stats-data: react, mahalanobis, knn, fdbd and vim need statistics.
    const without = await cli(args);
    expect(JSON.parse(without.stderr)).toMatchObject({ error: { code: 'GAIA_FEATURE_STATS' } });
    // A calibration made before knn existed: its statistics serve react and mahalanobis, and knn says to recompute them.
    const older = await cli([...args, '--calibration', CALIBRATION]);
    expect(JSON.parse(older.stderr)).toMatchObject({ error: { code: 'GAIA_FEATURE_STATS', message: expect.stringContaining('made before knn existed') } });
  }, 120_000);
});

describe('--taps stages:N', () => {
  it('refuses more stages than the model has, naming how many it has (exit 2)', async () => {
    const r = await cli(['compile', '--model', RESNET, '--out', join(tmp, 'stages.onnx'), '--taps', 'stages:9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stages:9.*3 stages.*\[GAIA_BAD_TAPS\]/);
    expect(existsSync(join(tmp, 'stages.onnx'))).toBe(false);
    const all = await cli(['compile', '--model', RESNET, '--out', join(tmp, 'stages.onnx'), '--taps', 'stages:3', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).taps).toHaveLength(9);
  });
});

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('no stack trace for an expected failure', () => {
  it('dashboard-snapshot against an unreachable Prometheus: one line naming the URL and what to do', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['dashboard-snapshot', '--prometheus', url, '--out', join(tmp, 'snapshot.html')]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain(url);
    expect(r.stderr).toMatch(/Prometheus.*--prometheus/);
    clean(r);
  });

  it('dashboard-snapshot with a missing dashboard file: GAIA_IO naming the path', async () => {
    const missing = join(tmp, 'no-dashboard.json');
    const r = await cli(['dashboard-snapshot', '--prometheus', 'http://127.0.0.1:9090', '--out', join(tmp, 's.html'), '--dashboard', missing]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`${missing}.*\\[GAIA_IO\\]`));
    clean(r);
  });
});

describe('run: a missed shutdown deadline', () => {
  it('exits 75 (transient: a restart gets past it), not a code that asks for a configuration change', async () => {
    const env = cleanEnv({ GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_REPLAY_FPS: '20', GAIA_SHUTDOWN_TIMEOUT_MS: '1', GAIA_TELEMETRY_PORT: '0' });
    // --verbose: a verdict line means the agent runs, its signal handlers installed.
    const child = spawn(process.execPath, ['bin/gaia-sentinel.js', 'run', '--verbose'], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/^id\/\S+\.png /m.test(stdout)) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr.slice(-1500)).toBe(75);
    expect(stderr).toMatch(/shutdownTimeoutMs \(1 ms\).*\[GAIA_RUNTIME\] \(transient/);
  });
});

describe('--model: a file for compile, the package folder elsewhere', () => {
  it('compile --model FOLDER says compile takes the ONNX file', async () => {
    const r = await cli(['compile', '--model', PACKAGE, '--out', join(tmp, 'm.onnx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--model for compile is an ONNX file; got a folder');
    expect(r.stderr).toMatch(/\(run\/calibrate\/eval.* take the package folder\)/);
    clean(r);
  });

  it.each([
    ['run', []],
    ['eval', ['--id', 'x', '--ood', 'y']],
    ['calibrate', ['--data', 'x']],
    ['bench', []],
  ])('%s --model FILE.onnx says to pass the package folder', async (name, rest) => {
    const r = await cli([name, '--model', join(PACKAGE, 'model.onnx'), ...rest]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--model for ${name} is the model package folder`);
    expect(r.stderr).toContain(`--model ${PACKAGE}`);
    clean(r);
  });

  it.each(['run', 'eval', 'bench'])('%s --help says --model is the package folder', async (name) => {
    expect((await cli([name, '--help'])).stdout).toMatch(/--model DIR\s+model package folder/);
  });
});
