/**
 * docs/YOUR-MODEL.md, followed as a new user would: an RGB classifier at 224x224 exported by
 * torch.onnx.export (tools/reference/make_camera_model.py), its labels, and 1920x1080 JPEG
 * frames from a camera (made here: one scene under changing light, boxes moving, sensor
 * noise). Every command marked as a step in the page is run as written, with the page's
 * names set to this test's files: init → calibrate → eval → the agent through the real
 * broker, then the agent again. The package validates against its schema; the held-out
 * frames are flagged 5 % ± 1.5 % of the time; every produced frame gets a verdict; and the
 * second start loads the compiled graph from the package, with no compile.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badFrame, cameraFrame, writeFrames } from '../helpers/camera-frames.js';
import { agentTopics, collect, testKafka, topicEnv } from '../helpers/kafka-agent.js';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'YOUR-MODEL.md'), 'utf8');
const steps = new Map([...DOC.matchAll(/<!-- step: ([a-z]+) -->\n```sh\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!.trim()]));
const work = mkdtempSync(join(tmpdir(), 'gaia-your-model-'));
const names = {
  EXPORT: join(work, 'model.onnx'),
  LABELS: join(work, 'labels.txt'),
  PKG: join(work, 'my-camera-model'),
  FRAMES: join(work, 'frames', 'calibration'),
  HELDOUT: join(work, 'frames', 'heldout'),
  BAD: join(work, 'frames', 'bad'),
};

/** A step of the page, run as written (npx gaia-sentinel: this checkout's CLI), with the page's names and `env` set. */
function step(name: string, env: Record<string, string> = {}) {
  // exec: the signals the test sends reach the command itself, not the shell around it.
  const command = steps.get(name)!.replaceAll('npx gaia-sentinel', `exec ${process.execPath} ${join(ROOT, 'bin', 'gaia-sentinel.js')}`);
  const child = spawn('bash', ['-c', command], { cwd: work, env: { ...process.env, ...names, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, done, out: () => stdout, err: () => stderr };
}

async function ran(name: string, env: Record<string, string> = {}) {
  const s = step(name, env);
  const code = await s.done;
  expect(code, `${name}: ${s.err().slice(-3000)}`).toBe(0);
  return { stdout: s.out(), stderr: s.err() };
}

beforeAll(async () => {
  copyFileSync(join(ROOT, 'test', 'fixtures', 'camera-model', 'model.onnx'), names.EXPORT);
  copyFileSync(join(ROOT, 'test', 'fixtures', 'camera-model', 'labels.txt'), names.LABELS);
  const scene = (_: number, random: () => number) => cameraFrame(random);
  await writeFrames(names.FRAMES, 2000, 1, scene);
  await writeFrames(names.HELDOUT, 1500, 2, scene);
  await writeFrames(names.BAD, 100, 3, badFrame);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('docs/YOUR-MODEL.md, every step, on an RGB 224x224 model and 1920x1080 camera JPEGs', () => {
  it('has the steps the test runs', () => {
    expect([...steps.keys()]).toEqual(['init', 'calibrate', 'eval', 'run', 'produce']);
  });

  it('init writes a package that validates against its schema, with its compiled scoring graph', async () => {
    const { stdout } = await ran('init');
    expect(stdout).toMatch(/next: gaia-sentinel calibrate --model /);
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'model-manifest.v1.json'), 'utf8')) as object;
    const validate = new Ajv2020({ strict: true }).compile(schema);
    const manifest = JSON.parse(readFileSync(join(names.PKG, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest).toMatchObject({ input: { name: 'image', shape: [null, 3, 224, 224], channels: 'rgb', resize: { mode: 'cover', crop: 0.875 } }, output: { name: 'class_logits' } });
    expect(JSON.parse(readFileSync(join(names.PKG, 'model.gaia.json'), 'utf8'))).toMatchObject({ gaiaZMode: 'pattern', request: { heads: expect.arrayContaining(['gaia_z']) } });
  }, 120_000);

  it('calibrate writes the calibration into the package; eval flags 5 % ± 1.5 % of the held-out frames and most bad ones', async () => {
    await ran('calibrate');
    const calibration = JSON.parse(readFileSync(join(names.PKG, 'calibration.json'), 'utf8')) as { model: string; data: { frames: number } };
    expect(calibration).toMatchObject({ model: 'my-camera-model', data: { frames: 2000 } });
    await ran('eval');
    const report = JSON.parse(readFileSync(join(work, 'reports', 'eval-my-camera-model.json'), 'utf8')) as { flagRates: Record<string, number>; heads: Record<string, { auroc: number }> };
    expect(report.flagRates.verdict).toBeGreaterThanOrEqual(0.035);
    expect(report.flagRates.verdict).toBeLessThanOrEqual(0.065);
  }, 300_000);

  it('the agent judges the produced frames through the real broker, and its second start reuses the compiled graph', async () => {
    const kafka = testKafka('gaia-test-your-model');
    const topics = agentTopics('yours-');
    const broker = kafkaBrokers().join(',');
    // The page's commands, pointed at the test broker and this test's topics.
    const env = { ...topicEnv(topics), GAIA_KAFKA_GROUP_ID: uniqueName('yours'), GAIA_TELEMETRY_PORT: '0', GAIA_EXECUTION_PROVIDERS: 'cpu' };
    const withBroker = (name: string) => steps.set(name, steps.get(name)!.replaceAll('127.0.0.1:9092', broker).replace('GAIA_KAFKA_SCORES_TOPIC=gaia.scores ', ''));
    withBroker('run');
    withBroker('produce');
    for (const start of ['first', 'second']) {
      const agent = step('run', env);
      try {
        // Started: it has printed what it consumes (its signal handlers are in place).
        for (let i = 0; i < 600 && !/consuming /.test(agent.out()) && agent.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
        if (start === 'first') await ran('produce', { GAIA_KAFKA_FRAMES_TOPIC: topics.frames });
        const verdicts = await collect(kafka, topics.scores, (ms) => ms.length >= 1500, 240_000);
        expect(new Set(verdicts.map((m) => JSON.parse(m.value!.toString()).frameId)).size).toBe(1500);
      } finally {
        agent.child.kill('SIGTERM');
        expect(await agent.done, agent.err().slice(-2000)).toBe(0);
      }
      const log = agent.err();
      expect(log).toMatch(/"msg":"scoring graph loaded from the package's model.gaia.onnx"/);
      expect(log).not.toMatch(/scoring graph compiled and loaded/);
      expect(log).toMatch(/"ms":\d+/);
    }
  }, 600_000);
});
