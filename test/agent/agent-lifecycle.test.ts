/**
 * The agent's lifecycle and health on the real broker (issue #10, defects 3 and 6): a dead
 * scorer worker stops the agent at once (it used to hang with /healthz and /readyz at 200
 * and its partitions assigned); /readyz recovers after kafkajs restarts a crashed consumer
 * (it used to stay 503 until someone deleted the pod); the HTTP endpoints are up before the
 * model is loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { ErrorCodes, type GaiaError } from '../../src/errors.js';
import type { WorkerScorer } from '../../src/runtime/worker-scorer.js';
import { agentTopics, collect, startAgent, testAdmin, testKafka, topicEnv } from '../helpers/kafka-agent.js';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
const pngs = readdirSync(SAMPLES).sort().slice(0, 40).map((n) => readFileSync(join(SAMPLES, n)));
const kafka = testKafka('gaia-test-lifecycle');
const testTopics = testAdmin(kafka);
const created = testTopics.created;

async function framesTopics(kind: string, frames: number) {
  const topics = agentTopics(`${kind}-`);
  created.push(...Object.values(topics));
  await testTopics.admin.createTopics({ waitForLeaders: true, topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 2 })) });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: topics.frames,
    acks: -1,
    messages: Array.from({ length: frames }, (_, i) => ({ key: `cam-${i % 2}`, value: pngs[i % pngs.length]!, headers: { 'content-type': 'image/png', 'frame-id': `f-${i}` } })),
  });
  await producer.disconnect();
  return topics;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a dead scorer worker (in-process Agent, real broker and ORT)', () => {
  it('stops the agent at once: run() rejects as transient, liveness turns false, the consumer leaves its group', async () => {
    const topics = await framesTopics('dead-scorer', 40);
    const groupId = uniqueName('dead-scorer');
    const config = loadConfig({
      env: {
        GAIA_SOURCE: 'kafka',
        GAIA_KAFKA_BROKERS: kafkaBrokers().join(','),
        GAIA_KAFKA_GROUP_ID: groupId,
        ...topicEnv(topics),
        GAIA_EXECUTION_PROVIDERS: 'cpu',
        GAIA_TELEMETRY_PORT: '0',
        GAIA_LOG_LEVEL: 'silent',
      },
    });
    const out: string[] = [];
    const agent = await Agent.create(config, { stdout: { write: (s: string) => out.push(s) }, log: pino({ level: 'silent' }) });
    const running = agent.run().then(
      () => 'ended without an error',
      (err: GaiaError) => err,
    );
    await collect(kafka, topics.scores, (ms) => ms.length >= 40);
    expect(agent.health()).toMatchObject({ live: true, ready: true, phase: 'running' });
    // The worker thread goes (as under the OOM killer) while the stream is idle.
    const scorer = Reflect.get(Reflect.get(agent, 'p'), 'scorer') as WorkerScorer;
    await (Reflect.get(scorer, 'worker') as import('node:worker_threads').Worker).terminate();
    const outcome = await Promise.race([running, sleep(20_000).then(() => 'still running')]);
    expect(outcome).toBeInstanceOf(Error);
    expect(outcome).toMatchObject({ code: ErrorCodes.RUNTIME, retriable: true });
    expect(agent.health()).toMatchObject({ live: false, ready: false, phase: 'failed' });
    // Its partitions are free for another agent: the consumer left the group.
    const { groups } = await testTopics.admin.describeGroups([groupId]);
    expect(groups[0]!.members).toHaveLength(0);
    await agent.close();
  });
});

describe('health that means something (spawned agent, real broker)', () => {
  it('serves /healthz and /readyz before the model is loaded', async () => {
    const topics = await framesTopics('http-first', 4);
    const agent = startAgent({ GAIA_KAFKA_GROUP_ID: uniqueName('http-first'), ...topicEnv(topics) });
    try {
      await collect(kafka, topics.scores, (ms) => ms.length >= 4);
      const lines = agent.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).msg as string);
      const listening = lines.findIndex((m) => m.startsWith('telemetry server listening'));
      const loaded = lines.findIndex((m) => m === 'scoring graph compiled and loaded');
      expect(listening).toBeGreaterThanOrEqual(0);
      expect(loaded).toBeGreaterThan(listening);
      const url = await agent.telemetry();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, phase: 'running', scorer: 'alive' });
    } finally {
      agent.process.kill('SIGTERM');
      await agent.exited();
    }
  });

  // The outage needs the broker this test run started (scripts/kafka/broker.sh).
  const ownBroker = spawnSync('bash', ['scripts/kafka/broker.sh', 'status'], { cwd: ROOT }).status === 0;

  it.skipIf(!ownBroker)('turns /readyz 503 while kafkajs restarts a crashed consumer, and 200 again once it has rejoined', async () => {
    const topics = await framesTopics('heal', 20);
    // One retry: a 20 s outage crashes the consumer (kafkajs restarts it), as a longer one would with the default budget.
    const agent = startAgent({ GAIA_KAFKA_GROUP_ID: uniqueName('heal'), ...topicEnv(topics), GAIA_KAFKA_RETRIES: '1', GAIA_READY_STALE_MS: '60000', GAIA_KAFKA_SESSION_TIMEOUT_MS: '10000' });
    try {
      await collect(kafka, topics.scores, (ms) => ms.length >= 20);
      const url = await agent.telemetry();
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const bounce = spawn('bash', ['scripts/kafka/broker.sh', 'bounce', '20'], { cwd: ROOT, stdio: 'ignore' });
      const back = new Promise((resolve) => bounce.once('exit', resolve));
      let down = false;
      void back.then(() => (down = true));
      const during: number[] = [];
      while (!down) {
        during.push((await fetch(`${url}/readyz`)).status);
        await sleep(1000);
      }
      expect(agent.stderr()).toMatch(/Restarting the consumer|crash/i);
      expect(during).toContain(503);
      // Ready again without a restart of the process.
      let status = 0;
      for (let i = 0; i < 90 && status !== 200; i++) {
        await sleep(1000);
        status = (await fetch(`${url}/readyz`)).status;
      }
      expect(status, agent.stderr().slice(-2000)).toBe(200);
      expect(agent.process.exitCode).toBeNull();
    } finally {
      agent.process.kill('SIGTERM');
      await agent.exited();
    }
  });
});
