/**
 * The CPU image's build steps, without a Docker engine (scripts/dockerfile-dry-run.mjs runs
 * the Dockerfile's COPY and RUN steps in fresh folders): the dependency install sees only
 * the package files, the result holds no dev dependencies, tests, tools or foreign
 * onnxruntime binaries, and it runs as the image would: --version, the replay demo, and the
 * HEALTHCHECK command against a running agent. Not covered here: the base images' own
 * files, USER (this runs as the test's user), and the GPU target (docs/DEPLOY.md).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Stage {
  /** The folder holding every stage's folder (a fresh gaia-dockerfile-* under the temp dir). */
  readonly root: string;
  readonly app: string;
  readonly env: Record<string, string>;
  readonly user: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly healthcheck: string[];
}

let image: Stage;
let log = '';

function run(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd, env: { ...cleanEnv(), ...options.env }, timeout: options.timeout ?? 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const r = await run(process.execPath, ['scripts/dockerfile-dry-run.mjs', '--target', 'cpu'], { cwd: ROOT, env: { ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  log = r.stderr;
  if (r.code !== 0) throw new Error(`the CPU target's build steps failed:\n${r.stderr.slice(-4000)}`);
  image = JSON.parse(r.stdout.trim().split('\n').pop()!) as Stage;
}, 900_000);

afterAll(() => {
  // Only the dry run's own folder: never anything above it.
  if (image && basename(image.root).startsWith('gaia-dockerfile-')) rmSync(image.root, { recursive: true, force: true });
});

describe('the CPU image, built step by step without a Docker engine', () => {
  it("denies onnxruntime-node's install script (its CUDA download) to npm, and the GPU image runs that script itself", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts).toMatchObject({ 'onnxruntime-node': false, sharp: true });
    // npm rebuild would skip the denied script silently: the GPU stage must call it directly,
    // with a value the script reads (skip / 1 / true / ON: "cuda12" counts as unset).
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=1 node node_modules\/onnxruntime-node\/script\/install/);
    // The provider is a CUDA 13 build (docs/DEPLOY.md): the GPU base must be CUDA 13 with cuDNN,
    // and the build checks that every library the provider links is there.
    expect(dockerfile).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:13\.[\d.]+-cudnn-runtime-/m);
    expect(dockerfile).toContain('RUN sh scripts/image/check-cuda-provider.sh node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
  });

  it('installs from the package files alone, then keeps only what runs: no dev dependencies, tests or foreign binaries', () => {
    expect(log).toContain('RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts');
    const top = readdirSync(image.app).sort();
    expect(top).toEqual(['LICENSE', 'README.md', 'bin', 'calibration', 'dist', 'models', 'node_modules', 'package.json', 'schemas']);
    expect(readdirSync(join(image.app, 'dist'))).toEqual(['src']);
    for (const dev of ['vitest', 'typescript', 'yaml', '@vitest/runner']) expect(existsSync(join(image.app, 'node_modules', dev, 'package.json')), dev).toBe(false);
    const ort = join(image.app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    expect(readdirSync(ort)).toEqual(['linux']);
    expect(readdirSync(join(ort, 'linux'))).toEqual(['x64']);
    expect(image.user).not.toBe('root');
    expect(image.env).toMatchObject({ NODE_ENV: 'production', GAIA_EXECUTION_PROVIDERS: 'cpu' });
  });

  it('runs as its ENTRYPOINT: --version, and the replay demo (CMD) end to end', async () => {
    const [cmd, ...args] = image.entrypoint;
    const version = await run(cmd === 'node' ? process.execPath : cmd!, [...args, '--version'], { cwd: image.app, env: image.env });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^gaia-sentinel \d+\.\d+\.\d+/);
    const replay = await run(cmd === 'node' ? process.execPath : cmd!, [...args, ...image.cmd], { cwd: image.app, env: { ...image.env, GAIA_REPLAY_FPS: '0', GAIA_TELEMETRY_PORT: '0' }, timeout: 120_000 });
    expect(replay.code, replay.stderr.slice(-2000)).toBe(0);
    expect(replay.stdout).toContain('2048 frames scored, 0 rejected');
    expect(replay.stdout).toMatch(/drift-started/);
  }, 180_000);

  it('its HEALTHCHECK passes against a running agent and fails once it is gone', async () => {
    const port = String(await freePort());
    const env = { ...image.env, GAIA_TELEMETRY_PORT: port, GAIA_TELEMETRY_HOST: '127.0.0.1', GAIA_REPLAY_FPS: '50' };
    const agent = spawn(process.execPath, [...image.entrypoint.slice(1), ...image.cmd], { cwd: image.app, env: { ...cleanEnv(), ...env }, stdio: 'ignore' });
    const [cmd, ...args] = image.healthcheck;
    const check = () => run(cmd === 'node' ? process.execPath : cmd!, args, { cwd: image.app, env, timeout: 10_000 });
    try {
      let code: number | null = 1;
      for (let i = 0; i < 100 && code !== 0; i++) {
        code = (await check()).code;
        if (code !== 0) await new Promise((r) => setTimeout(r, 300));
      }
      expect(code).toBe(0);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
    expect((await check()).code).toBe(1);
  }, 120_000);
});
