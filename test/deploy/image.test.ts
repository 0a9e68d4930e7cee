/**
 * The CPU image, built by a real engine from the repository's Dockerfile (scripts/image/build.sh)
 * and started as a user starts it: a user's RGB model package (helpers/camera-package.ts)
 * mounted read-only and named by GAIA_MODEL_DIR, a read-only root file system with a tmpfs on
 * /tmp, host networking, the test broker. Frames in, verdicts (from that package's model) and a
 * drift episode out; /healthz and /readyz answer; Docker's HEALTHCHECK says healthy; the agent
 * runs as a non-root uid; `docker stop` drains and exits 0 within the grace period with the
 * committed offsets equal to the verdicts. Skipped, saying why, when no engine answers, unless
 * GAIA_REQUIRE_DOCKER=1 (.ci/run sets it once it has an engine): then that is a failure.
 * GAIA_TEST_IMAGE=<tag> tests an image built elsewhere instead of building one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { badFrame, cameraFrame } from '../helpers/camera-frames.js';
import { makeCameraPackage, PACKAGE_FRAME_SIZE } from '../helpers/camera-package.js';
import { docker, dockerOk, engineMissing, inspect } from '../helpers/docker.js';
import { agentTopics, collect, testKafka, topicEnv, verdictIds } from '../helpers/kafka-agent.js';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MOUNT = '/models/my-camera-model';
/** `docker stop`'s grace period: longer than the agent's drain deadline (shutdownTimeoutMs 30 s). */
const GRACE_S = 45;
const missing = engineMissing();
if (missing && process.env.GAIA_REQUIRE_DOCKER === '1') throw new Error(`GAIA_REQUIRE_DOCKER=1 but ${missing}`);
// Said where a run's output shows it, not only in a skipped test's name.
if (missing) console.warn(`test/deploy/image.test.ts: the container test is skipped: ${missing}`);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

function buildImage(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(ROOT, 'scripts', 'image', 'build.sh'), 'gaia-sentinel:cpu'], { cwd: ROOT, timeout: 1_500_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`scripts/image/build.sh failed: ${err.message}\n${stderr.slice(-4000)}`)) : resolve(stdout.trim()),
    );
  });
}

/** Camera frames from one source as Kafka messages, JPEG with the input contract's headers. */
async function frames(source: string, prefix: string, count: number, make: (i: number, random: () => number) => Promise<Buffer>, seed: number): Promise<Message[]> {
  const random = mulberry32(seed);
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const value = await make(i, random);
    out.push({ key: source, value, headers: { 'content-type': 'image/jpeg', 'frame-id': `${prefix}-${i}`, ts: String(Date.now()) } });
  }
  return out;
}

describe.skipIf(missing !== undefined)(missing ? `the container test is skipped: ${missing}` : 'the CPU image, run as a user runs it, with their model package mounted', () => {
  const kafka = testKafka('gaia-test-image');
  const topics = agentTopics('image-');
  const groupId = uniqueName('image');
  const container = uniqueName('image');
  const work = mkdtempSync(join(tmpdir(), 'gaia-image-'));
  const image = process.env.GAIA_TEST_IMAGE ?? 'gaia-sentinel:cpu';
  let admin: Admin;
  let port: number;
  let pkg: string;
  let sent = 0;
  const scene = (_: number, random: () => number) => cameraFrame(random, PACKAGE_FRAME_SIZE);
  const broken = (i: number, random: () => number) => badFrame(i, random, PACKAGE_FRAME_SIZE);
  const send = async (messages: Message[]) => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.frames, messages });
    await producer.disconnect();
    sent += messages.length;
  };
  const logs = async () => {
    const r = await docker(['logs', container]);
    return r.stdout + r.stderr;
  };

  beforeAll(async () => {
    if (!process.env.GAIA_TEST_IMAGE) console.log(await buildImage());
    pkg = await makeCameraPackage(work);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.frames, numPartitions: 2 }, ...[topics.alerts, topics.scores, topics.dlq].map((topic) => ({ topic, numPartitions: 1 }))] });
    port = await freePort();
    const env = { ...topicEnv(topics), GAIA_SOURCE: 'kafka', GAIA_KAFKA_BROKERS: kafkaBrokers().join(','), GAIA_KAFKA_GROUP_ID: groupId, GAIA_TELEMETRY_PORT: String(port), GAIA_MODEL_DIR: MOUNT, GAIA_DRIFT_WINDOW: '100' };
    // (A window of 100: the flag count tests from the 100th frame of a source, not the 500th.)
    // As a user runs it: the package read-only, the root file system read-only, a tmpfs where it may write.
    await dockerOk(['run', '-d', '--name', container, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '-v', `${pkg}:${MOUNT}:ro`, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), image]);
  }, 1_800_000);

  afterAll(async () => {
    if (process.env.GAIA_KEEP_CONTAINER !== '1') await docker(['rm', '-f', container]);
    await admin?.deleteTopics({ topics: [...Object.values(topics), `${groupId}-drift-changelog`] }).catch(() => {});
    await admin?.disconnect();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs as a non-root uid, on a root file system it cannot write', async () => {
    const pid = await inspect(container, '{{.State.Pid}}');
    // The process itself, as the kernel sees it (real, effective, saved and fs uids).
    const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.split(/\s+/).map(Number);
    expect(uids.every((u) => u !== 0), `uids ${uids.join(' ')}`).toBe(true);
    expect(await inspect(container, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true');
    const write = await docker(['exec', container, 'node', '-e', 'require("fs").writeFileSync("/app/probe", "x")']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS|read-only file system/i);
  });

  it('serves /healthz and /readyz, and Docker\'s HEALTHCHECK reports it healthy', async () => {
    const base = `http://127.0.0.1:${port}`;
    await until('/readyz', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 120_000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const config = JSON.parse(await inspect(container, '{{json .Config}}')) as { Healthcheck?: { Test?: string[] } };
    expect(config.Healthcheck?.Test ?? [], 'the image declares no HEALTHCHECK').toContain('bin/gaia-healthcheck.js');
    // The first check runs one interval (15 s) after the start.
    const status = await until('a healthy container', async () => {
      const s = await inspect(container, '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}');
      return s === 'starting' ? undefined : s;
    }, 90_000);
    expect(status, await logs()).toBe('healthy');
  }, 180_000);

  it('judges the frames with the mounted package and calibration, and reports a drift episode', async () => {
    await send([...(await frames('dock-1', 'id', 120, scene, 21)), ...(await frames('dock-1', 'bad', 150, broken, 22)), ...(await frames('dock-2', 'quiet', 80, scene, 23))]);
    const verdicts = await collect(kafka, topics.scores, (ms) => new Set(verdictIds(ms)).size >= sent, 180_000);
    const records = verdicts.map((m) => JSON.parse(m.value!.toString()) as { model: string; modelFingerprint: string; calibration: { digest: string }; flagged: boolean; frameId: string });
    const calibration = JSON.parse(readFileSync(join(pkg, 'calibration.json'), 'utf8')) as { fingerprint?: string; model: string };
    expect(new Set(records.map((r) => r.model))).toEqual(new Set(['my-camera-model']));
    expect(calibration.model).toBe('my-camera-model');
    const log = await logs();
    expect(log).toMatch(/scoring graph loaded from the package's model.gaia.onnx/);
    expect(log).toContain(`${MOUNT}/calibration.json`);
    // The package's calibration judges: the broken frames flagged far more often than the scene.
    const rate = (prefix: string) => records.filter((r) => r.frameId.startsWith(prefix) && r.flagged).length / records.filter((r) => r.frameId.startsWith(prefix)).length;
    expect(rate('bad-')).toBeGreaterThan(0.3);
    expect(rate('quiet-')).toBeLessThan(0.15);
    const alerts = await collect(kafka, topics.alerts, (ms) => ms.some((m) => JSON.parse(m.value!.toString()).type === 'drift-started'), 120_000);
    const started = alerts.map((m) => JSON.parse(m.value!.toString()) as { type: string; source: string; model: string }).filter((a) => a.type === 'drift-started');
    expect(started.map((a) => a.source)).toEqual(['dock-1']);
    expect(started[0]!.model).toBe('my-camera-model');
  }, 420_000);

  it('drains on docker stop and exits 0 within the grace period, its committed offsets equal to the verdicts', async () => {
    const before = sent;
    await send(await frames('dock-2', 'late', 600, scene, 24));
    // Stop while it works: some of the late frames judged, not all.
    await collect(kafka, topics.scores, (ms) => verdictIds(ms).filter((id) => id.startsWith('late-')).length >= 20, 120_000);
    const t0 = Date.now();
    const stop = await docker(['stop', '-t', String(GRACE_S), container], (GRACE_S + 30) * 1000);
    const stoppedInS = (Date.now() - t0) / 1000;
    expect(stop.code, stop.stderr).toBe(0);
    expect(await inspect(container, '{{.State.ExitCode}}'), await logs()).toBe('0');
    expect(await inspect(container, '{{.State.OOMKilled}}')).toBe('false');
    expect(stoppedInS).toBeLessThan(GRACE_S);
    expect(await logs()).toContain('shutting down');
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.frames] });
    const committedFrames = committed!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
    const judged = new Set(verdictIds(await collect(kafka, topics.scores, (ms) => new Set(verdictIds(ms)).size >= committedFrames, 60_000)));
    expect(committedFrames).toBeGreaterThan(before);
    expect(judged.size).toBe(committedFrames);
  }, 300_000);
});
