/**
 * The CLI as users run it: `node bin/gaia-sentinel.js ...` spawned as a child process from
 * the repository root, with exit codes, stdout (results) and stderr (errors, JSON logs)
 * checked. bin/ runs the compiled dist/, so `npm run build` must come first.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/onnx/model-io.js';
import { assertCloudEvent } from '../helpers/contract.js';
import { craftModel, externalTensor } from '../helpers/onnx-craft.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RESNET = 'test/fixtures/parity/resnet_basic/model.onnx';
const SAMPLES_ID = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/gaia-sentinel.js', ...args],
      { cwd: ROOT, env: cleanEnv(extraEnv), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** stderr's JSON log lines (pino); any other line is ignored. */
function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The .ts files under `dir` whose compiled .js in dist/ is missing or older (tsc rewrites every output). */
function staleOutputs(dir: string): string[] {
  const stale: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) stale.push(...staleOutputs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const built = join(ROOT, 'dist', relative(ROOT, path)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) stale.push(relative(ROOT, path));
    }
  }
  return stale;
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/src/cli/main.js is missing: run `npm run build` before the CLI tests (bin/gaia-sentinel.js runs dist/)');
  }
  const stale = staleOutputs(join(ROOT, 'src'));
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}: run \`npm run build\` before the CLI tests`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'gaia-cli-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('gaia-sentinel (no command)', () => {
  it('prints the usage on stdout and exits 2 without arguments', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: gaia-sentinel <command>');
    expect(r.stdout).toMatch(/^\s+run\s/m);
    expect(r.stdout).toMatch(/^\s+compile\s/m);
    expect(r.stderr).toBe('');
  });

  it('prints the usage and exits 0 with --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: gaia-sentinel <command>');
  });

  it('refuses an unknown command on stderr with exit 2', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stdout).toBe('');
  });
});

describe('gaia-sentinel --version', () => {
  it('prints the package version, the scoring semantics and the runtime versions; --json as one object', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const text = await cli(['--version']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(`gaia-sentinel ${pkg.version}`);
    expect(text.stdout).toMatch(/scoring semantics \d+, onnxruntime-node 1\.\d+\.\d+, node v\d+/);
    const json = await cli(['--version', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: pkg.version, node: expect.stringMatching(/^v\d+/), onnxruntime: expect.stringMatching(/^1\./) });
    expect((await cli(['-V'])).stdout).toBe(text.stdout);
  });
});

describe('gaia-sentinel compile', () => {
  it('--json: one object with the taps, heads, notes and op counts; a failure as one JSON line on stderr', async () => {
    const out = join(tmp, 'json.onnx');
    const r = await cli(['compile', '--model', RESNET, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report).toMatchObject({ model: RESNET, out, numClasses: 10, heads: ['logits', 'gaia_z', 'msp', 'energy'] });
    expect(report.taps).toHaveLength(9);
    expect(report.taps[0]).toMatchObject({ node: expect.any(String), tensor: expect.any(String), shape: ['batch', expect.any(Number), expect.any(Number), expect.any(Number)] });
    expect(report.opCounts.Conv).toBeGreaterThan(0);
    const text = join(tmp, 'not-a-model-json.onnx');
    writeFileSync(text, 'hello');
    const bad = await cli(['compile', '--model', text, '--out', join(tmp, 'never.onnx'), '--json']);
    expect(bad.code).toBe(1);
    const error = JSON.parse(bad.stderr.split('\n')[0]!);
    expect(error).toMatchObject({ error: { command: 'compile', code: 'GAIA_ONNX_PARSE', retriable: false } });
    expect(error.error.message).toContain(text);
  });

  it('compiles resnet_basic: 9 taps and op counts on stdout, a model with the four heads on disk', async () => {
    const out = join(tmp, 'x.onnx');
    const r = await cli(['compile', '--model', RESNET, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`compiled ${RESNET} → ${out}`);
    expect(r.stdout).toContain('taps (9):');
    const tapLines = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\S+\s+\[batch, \d+, \d+, \d+\]\s+\(\w+\)$/.test(l));
    expect(tapLines).toHaveLength(9);
    expect(r.stdout).toContain('op counts:');
    expect(r.stdout).toMatch(/^\s+Conv\s+\d+$/m);

    expect(existsSync(out)).toBe(true);
    const bytes = readFileSync(out);
    const model = decodeModel(bytes, out);
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['logits', 'gaia_z', 'msp', 'energy']);
    // And onnxruntime loads it with the same outputs.
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      expect([...session.outputNames]).toEqual(['logits', 'gaia_z', 'msp', 'energy']);
    } finally {
      await session.release();
    }
  });

  it('fails with exit 1 and GAIA_ONNX_PARSE on a file that is not ONNX', async () => {
    const text = join(tmp, 'not-a-model.onnx');
    writeFileSync(text, 'This is a plain text file, not a protobuf.\n'.repeat(20));
    const out = join(tmp, 'never-written.onnx');
    const r = await cli(['compile', '--model', text, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GAIA_ONNX_PARSE');
    expect(r.stderr).toContain(text);
    expect(existsSync(out)).toBe(false);
  });

  it('compiles torch\'s default export (model.onnx + model.onnx.data) from the built package', async () => {
    const dir = join(tmp, 'dynamo');
    mkdirSync(dir);
    for (const f of ['model.onnx', 'model.onnx.data']) copyFileSync(join(ROOT, 'test/fixtures/external/dynamo_tiny', f), join(dir, f));
    const out = join(tmp, 'dynamo.gaia.onnx');
    const r = await cli(['compile', '--model', join(dir, 'model.onnx'), '--out', out, '--taps', 'name:^node_Conv']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${out}.data`)).toBe(false);
  });

  it('fails with exit 1 and GAIA_EXTERNAL_DATA_PATH on external data outside the model folder, writing nothing', async () => {
    const dir = join(tmp, 'escaping');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), craftModel(externalTensor('W', [2, 2], { location: '../../etc/passwd' }), 'sparse-values'));
    const out = join(tmp, 'escaping.gaia.onnx');
    const r = await cli(['compile', '--model', join(dir, 'model.onnx'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GAIA_EXTERNAL_DATA_PATH');
    expect(r.stderr).toContain('sparse_initializer "W" (values)');
    expect(r.stderr).toContain('../../etc/passwd');
    expect(existsSync(out)).toBe(false);
  });

  it('fails with exit 1 and GAIA_TENSOR_SIZE on a 4e9-element initializer with 64 bytes of data, writing nothing', async () => {
    const model = join(tmp, 'huge.onnx');
    writeFileSync(model, craftModel({ name: 'huge', dims: [4_000_000_000], dataType: 1, rawData: new Uint8Array(64) }));
    const out = join(tmp, 'huge.gaia.onnx');
    const r = await cli(['compile', '--model', model, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GAIA_TENSOR_SIZE');
    expect(r.stderr).toContain('initializer "huge"');
    expect(existsSync(out)).toBe(false);
  });

  it('exits 2 when --out is missing, with the usage on stderr', async () => {
    const r = await cli(['compile', '--model', RESNET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stderr).toContain('GAIA_BAD_CONFIG');
    expect(r.stderr).toContain('Usage: gaia-sentinel compile');
  });

  it('exits 2 on an unknown option', async () => {
    const r = await cli(['compile', '--model', RESNET, '--out', join(tmp, 'y.onnx'), '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--frobnicate');
    expect(existsSync(join(tmp, 'y.onnx'))).toBe(false);
  });

  it('prints its own usage and exits 0 with --help', async () => {
    const r = await cli(['compile', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: gaia-sentinel compile --model');
  });

  it('--gaia-z-mode pattern-exact builds the input-derived masks; an unknown mode names the choices', async () => {
    const zoo = 'test/fixtures/parity/op_zoo/model.onnx';
    const r = await cli(['compile', '--model', zoo, '--out', join(tmp, 'exact.onnx'), '--gaia-z-mode', 'pattern-exact', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ gaiaZMode: 'pattern-exact' });
    const bad = await cli(['compile', '--model', zoo, '--out', join(tmp, 'never.onnx'), '--gaia-z-mode', 'exact']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown GAIA-Z mode "exact"; choose from float, pattern, pattern-exact');
  });
});

describe('gaia-sentinel run', () => {
  it('replays the bundled samples as one camera: ID, OOD, ID; drift starts on the OOD frames and resolves after', async () => {
    const r = await cli(['run']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^replaying 2048 frames as source "camera-1"/);
    expect(r.stdout).toContain('verdicts: two-group(gaia_z, mahalanobis, vim, input_exposure, input_contrast, input_sharpness, input_detail, input_octave, input_noise, input_colourfulness, input_flat) ≤');
    expect(lines).toContain('2048 frames scored, 0 rejected');

    // One episode: it starts after the 512 ID frames, within the first 100 OOD frames, and ends after them.
    const events = lines.filter((l) => /^\[\+\d+\.\d\ds\] drift-/.test(l));
    expect(events.map((l) => l.split(' ')[1])).toEqual(['drift-started', 'drift-resolved']);
    const at = events.map((l) => Number(/\+(\d+\.\d+)s/.exec(l)![1]));
    const frameTime = 1 / 400;
    expect(at[0]!).toBeGreaterThan(512 * frameTime);
    expect(at[0]!).toBeLessThan((512 + 100) * frameTime);
    expect(at[1]!).toBeGreaterThan(1024 * frameTime);

    const auroc = /AUROC id vs ood: verdict (\d\.\d+), GAIA-Z (\d\.\d+), MSP (\d\.\d+)/.exec(r.stdout);
    expect(auroc, r.stdout).not.toBeNull();
    expect(Number(auroc![1])).toBeGreaterThan(0.9);
    expect(Number(auroc![2])).toBeGreaterThan(0.9);
    // Against the committed calibration's verdict rule: most digits are flagged, about 5 % of the clothes
    // (GAIA-Z alone flags more of these digits; this small model's energy and features hardly see them).
    const ood = /ood: 512 frames, (\d+) flagged OOD/.exec(r.stdout);
    expect(Number(ood![1])).toBeGreaterThan(400);
    const id = /id: 1536 frames, (\d+) flagged OOD/.exec(r.stdout);
    expect(Number(id![1]) / 1536).toBeLessThan(0.08);

    const logs = logLines(r.stderr);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(l.name).toBe('gaia-sentinel');
    const loaded = logs.find((l) => l.msg === 'scoring graph compiled and loaded');
    expect(loaded).toMatchObject({ level: 30, model: 'fmnist-cnn', heads: expect.arrayContaining(['gaia_z', 'msp', 'energy']) });
    expect(loaded!.taps).toBeGreaterThan(0);
  });

  it('prints exactly the records it would publish with --json (NDJSON), each valid against its schema, with the same ids on a second run', async () => {
    const env = { GAIA_EXECUTION_PROVIDERS: 'cpu', GAIA_KAFKA_SCORES_TOPIC: 'gaia.scores' };
    const runs = await Promise.all([cli(['run', '--json'], env), cli(['run', '--json'], env)]);
    const ids: string[][] = [];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { topic: string; key: string; headers: Record<string, string>; value: unknown });
      // Nothing but records on stdout: the console view is off, logs are on stderr.
      expect(r.stdout).not.toContain('frames scored');
      expect(logLines(r.stderr).some((l) => l.msg === 'stopped')).toBe(true);
      const byTopic = (t: string) => lines.filter((l) => l.topic === t);
      expect(byTopic('gaia.scores')).toHaveLength(2048);
      // Episodes only on the alerts topic (frame-ood stays off it by default).
      expect(byTopic('gaia.alerts').map((l) => l.headers.ce_type)).toEqual(['io.gaia-sentinel.drift.started.v1', 'io.gaia-sentinel.drift.resolved.v1']);
      expect(lines).toHaveLength(2050);
      for (const [i, l] of lines.entries()) assertCloudEvent({ key: l.key, value: JSON.stringify(l.value), headers: l.headers }, `line ${i + 1}`);
      expect(byTopic('gaia.alerts')[0]!.value).toMatchObject({ model: 'fmnist-cnn', calibration: { digest: expect.stringMatching(/^[0-9a-f]{64}$/) }, trigger: { topic: 'replay' } });
      ids.push(lines.map((l) => `${l.topic} ${l.headers.ce_id}`).sort()); // batching may interleave topics differently
    }
    expect(ids[1]).toEqual(ids[0]);
  });

  it('scores the good frames of a replay folder and rejects a corrupt one with a warn log', async () => {
    const dir = join(tmp, 'replay-cam7');
    mkdirSync(dir);
    const good = readdirSync(SAMPLES_ID).filter((n) => n.endsWith('.png')).slice(0, 3);
    for (const name of good) copyFileSync(join(SAMPLES_ID, name), join(dir, name));
    writeFileSync(join(dir, 'bad.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not really a png', 'latin1'));

    const r = await cli(['run', '--replay', dir, '--verbose'], { GAIA_EXECUTION_PROVIDERS: 'cpu' });
    expect(r.code, r.stderr).toBe(0);
    const folder = basename(dir);
    const frames = r.stdout.split('\n').filter((l) => l.startsWith(`${folder}/`));
    expect(frames.map((l) => l.split(/\s+/)[0])).toEqual(good.map((g) => `${folder}/${g}`));
    expect(r.stdout).toContain('3 frames scored, 1 rejected');
    expect(r.stdout).not.toContain('AUROC'); // one folder: nothing to compare

    const rejected = logLines(r.stderr).filter((l) => l.msg === 'frame rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ level: 40, source: 'camera-1', frame: `${folder}/bad.png`, reason: 'undecodable' });
  });

  it('exits 2 on GAIA_MAX_BATCH=0, naming runtime.maxBatch and GAIA_MAX_BATCH', async () => {
    const r = await cli(['run'], { GAIA_MAX_BATCH: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('runtime.maxBatch');
    expect(r.stderr).toContain('GAIA_MAX_BATCH');
    expect(r.stderr).toContain('GAIA_BAD_CONFIG');
    expect(r.stdout).toBe('');
  });

  it('exits 2 when a replay folder does not exist', async () => {
    const missing = join(tmp, 'no-such-folder');
    const r = await cli(['run', '--replay', missing], { GAIA_EXECUTION_PROVIDERS: 'cpu' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
  });
});
