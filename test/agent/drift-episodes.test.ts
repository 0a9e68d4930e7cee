/**
 * Drift episodes a consumer can trust (issue #27), on the real broker with the default
 * configuration (the drift changelog on; only topic names, the group, a 50-frame window and
 * a 500 ms hysteresis are set, for speed): whatever happens to the agent mid-episode — kill
 * -9 (at-least-once and exactly-once), SIGTERM and a restart, a rolling restart of two
 * agents, a 20 s broker outage — the alerts topic, read as a consumer would (read_committed),
 * holds exactly one drift-started and one end for the episode. A camera that goes quiet
 * mid-episode gets its own end (drift-silent). The same frames topic scored twice, once
 * through a crash, gives the same records but for scoredAt; and a healthy first start
 * against a cluster without the agent's topics logs nothing at warn level or above.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, settledAssignment, startAgent, testKafka, topicEnv, type Agent, type AgentTopics } from '../helpers/kafka-agent.js';
import { headerTexts } from '../helpers/contract.js';
import { uniqueName } from '../setup/kafka-context.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');
const load = (sub: string) => readdirSync(join(SAMPLES, sub)).sort().map((n) => readFileSync(join(SAMPLES, sub, n)));
const [id, ood] = [load('id'), load('ood')];
const kafka = testKafka('gaia-test-episodes');
let admin: Admin;
const running: Agent[] = [];
let ts = 1_790_000_000_000;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  for (const a of running) if (a.process.exitCode === null) a.process.kill('SIGKILL');
  await admin.disconnect();
});

function agent(env: Record<string, string>): Agent {
  const a = startAgent(env);
  running.push(a);
  return a;
}

async function stop(a: Agent, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  // Only once it runs (it has printed what it consumes): a signal during startup is not a drain.
  for (let i = 0; i < 600 && a.process.exitCode === null && !/consuming /.test(a.stdout()); i++) await sleep(100);
  if (a.process.exitCode !== null) return a.process.exitCode;
  a.process.kill(signal);
  return a.exited();
}

/** Frames of one camera, each with a frame time 20 ms after the last. */
async function send(topic: string, frames: Buffer[], prefix: string, key: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: frames.map((value, i) => ({ key, value, headers: { 'content-type': 'image/png', 'frame-id': `${prefix}-${i}`, ts: String((ts += 20)) } })),
  });
  await producer.disconnect();
}

const data = (m: KafkaMessage) => JSON.parse(m.value!.toString()) as { type: string; source: string };
const ENDS = ['drift-resolved', 'drift-silent', 'drift-state-reset'];
const episodeEvents = (ms: KafkaMessage[], source: string) => ms.map(data).filter((e) => e.source === source && e.type.startsWith('drift-'));

/** A fresh deployment: its topics (the frames topic with two partitions) and its settings. */
async function deployment(name: string, extra: Record<string, string> = {}): Promise<{ topics: AgentTopics; env: Record<string, string> }> {
  const topics = { ...agentTopics(`${name}-`), scores: '' };
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.frames, numPartitions: 2 }, { topic: topics.alerts }, { topic: topics.dlq }] });
  const env = { GAIA_KAFKA_GROUP_ID: uniqueName(name), ...topicEnv(topics), GAIA_DRIFT_WINDOW: '50', GAIA_DRIFT_RESOLVE_AFTER_MS: '500', ...extra };
  return { topics, env };
}

/**
 * One episode through a disruption: ID frames, then OOD frames until the episode starts,
 * `disrupt`, then ID frames until it ends. Returns the source's drift events on the alerts topic.
 */
async function episodeThrough(name: string, disrupt: (env: Record<string, string>, first: Agent) => Promise<Agent[]>, extra: Record<string, string> = {}): Promise<Array<{ type: string }>> {
  const { topics, env } = await deployment(name, extra);
  const cam = `cam-${name}`;
  const first = agent(env);
  await send(topics.frames, id.slice(0, 60), `${name}-a`, cam);
  await send(topics.frames, ood.slice(0, 150), `${name}-b`, cam);
  await collect(kafka, topics.alerts, (ms) => episodeEvents(ms, cam).some((e) => e.type === 'drift-started'));
  const now = await disrupt(env, first);
  await send(topics.frames, id.slice(60, 260), `${name}-c`, cam);
  await collect(kafka, topics.alerts, (ms) => episodeEvents(ms, cam).some((e) => ENDS.includes(e.type)));
  // Anything a redelivery would add arrives within the commit interval and a batch or two.
  await sleep(3000);
  for (const a of now) expect(await stop(a), a.stderr().slice(-1500)).toBe(0);
  return episodeEvents(await drain(topics.alerts), cam);
}

/** Every record on a topic now (read_committed), read to the end of each partition. */
async function drain(topic: string): Promise<KafkaMessage[]> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  const got: KafkaMessage[] = [];
  if (ends.size === 0) return got;
  const consumer = kafka.consumer({ groupId: uniqueName('drain') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} not read to its end within 60 s`)), 60_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          got.push(...batch.messages);
          // The end may be a transaction marker, not a record: the batch's last offset counts.
          if (BigInt(batch.lastOffset()) + 1n >= (ends.get(batch.partition) ?? 0n)) ends.delete(batch.partition);
          if (ends.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Reads a topic until it holds `expected` records (each held to the output contract). */
async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  return collect(kafka, topic, (ms) => ms.length >= expected, 120_000);
}

const oneStartOneEnd = (events: Array<{ type: string }>) => {
  expect(events.filter((e) => e.type === 'drift-started')).toHaveLength(1);
  expect(events.filter((e) => ENDS.includes(e.type)).map((e) => e.type)).toEqual(['drift-resolved']);
};

describe('one start and one end per episode, whatever happens to the agent (real broker, default configuration)', () => {
  it('kill -9 mid-episode, at-least-once: the restarted agent restores the open episode and does not count redelivered frames again', async () => {
    const events = await episodeThrough('kill', async (env, first) => {
      first.process.kill('SIGKILL');
      await first.exited();
      return [agent(env)];
    });
    oneStartOneEnd(events);
  }, 240_000);

  it('kill -9 mid-episode, exactly-once', async () => {
    const events = await episodeThrough(
      'kill-eos',
      async (env, first) => {
        first.process.kill('SIGKILL');
        await first.exited();
        return [agent(env)];
      },
      { GAIA_KAFKA_EXACTLY_ONCE: 'true' },
    );
    oneStartOneEnd(events);
  }, 240_000);

  it('SIGTERM mid-episode and a restart', async () => {
    const events = await episodeThrough('term', async (env, first) => {
      expect(await stop(first)).toBe(0);
      return [agent(env)];
    });
    oneStartOneEnd(events);
  }, 240_000);

  it('a rolling restart of two agents: the partition moves to the other agent and back', async () => {
    const events = await episodeThrough('roll', async (env, first) => {
      const second = agent(env);
      await settledAssignment(admin, env.GAIA_KAFKA_GROUP_ID!, env.GAIA_KAFKA_FRAMES_TOPIC!, 2, 2);
      expect(await stop(first)).toBe(0);
      await settledAssignment(admin, env.GAIA_KAFKA_GROUP_ID!, env.GAIA_KAFKA_FRAMES_TOPIC!, 2, 1);
      const again = agent(env);
      await settledAssignment(admin, env.GAIA_KAFKA_GROUP_ID!, env.GAIA_KAFKA_FRAMES_TOPIC!, 2, 2);
      return [second, again];
    });
    oneStartOneEnd(events);
  }, 300_000);

  // The outage needs the broker this test run started (scripts/kafka/broker.sh).
  const ownBroker = spawnSync('bash', ['scripts/kafka/broker.sh', 'status'], { cwd: ROOT }).status === 0;
  it.skipIf(!ownBroker)('a 20 s broker outage mid-episode', async () => {
    const events = await episodeThrough('outage', async (_env, first) => {
      const bounce = spawn('bash', ['scripts/kafka/broker.sh', 'bounce', '20'], { cwd: ROOT, stdio: 'ignore' });
      await new Promise((resolve) => bounce.once('exit', resolve));
      return [first];
    });
    oneStartOneEnd(events);
  }, 300_000);
});

describe('a camera that goes quiet mid-episode', () => {
  it('ends the episode with drift-silent after drift.silenceMs, not with a drift-resolved', async () => {
    const { topics, env } = await deployment('quiet', { GAIA_DRIFT_SILENCE_MS: '2000' });
    const cam = 'cam-quiet';
    const a = agent(env);
    await send(topics.frames, id.slice(0, 60), 'quiet-a', cam);
    await send(topics.frames, ood.slice(0, 150), 'quiet-b', cam);
    const started = Date.now();
    const alerts = await collect(kafka, topics.alerts, (ms) => episodeEvents(ms, cam).some((e) => e.type === 'drift-silent'), 60_000);
    const events = episodeEvents(alerts, cam) as Array<{ type: string; startedAt?: number; lastFrameAt?: number; silenceMs?: number }>;
    expect(events.map((e) => e.type)).toEqual(['drift-started', 'drift-silent']);
    const silent = events[1]!;
    expect(silent).toMatchObject({ silenceMs: 2000, startedAt: expect.any(Number), lastFrameAt: ts });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(a.stdout() + a.stderr()).toMatch(/drift episode ended: its source sent no frame/);
    expect(await stop(a)).toBe(0);
  }, 120_000);
});

describe('redeliveries', () => {
  it('give the same records but for scoredAt: one frames topic scored twice, once through a crash', async () => {
    const topics = agentTopics('replay2-');
    const second = uniqueName('replay2-scores-b');
    await admin.createTopics({ waitForLeaders: true, topics: [topics.frames, topics.alerts, topics.scores, topics.dlq, second].map((topic) => ({ topic })) });
    // No ts header: the capture time is the Kafka record's own timestamp.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.frames, acks: -1, messages: id.slice(0, 300).map((value, i) => ({ key: 'cam-r', value, headers: { 'content-type': 'image/png', 'frame-id': `r-${i}` } })) });
    await producer.disconnect();

    const env = { GAIA_KAFKA_GROUP_ID: uniqueName('replay2-a'), ...topicEnv(topics), GAIA_MAX_BATCH: '8' };
    const crashing = agent(env);
    await collect(kafka, topics.scores, (ms) => ms.length >= 100);
    crashing.process.kill('SIGKILL');
    await crashing.exited();
    const resumed = agent(env);
    const a = await collect(kafka, topics.scores, (ms) => new Set(ms.map((m) => headerTexts(m).ce_id)).size >= 300, 120_000);
    expect(await stop(resumed)).toBe(0);

    const clean = agent({ GAIA_KAFKA_GROUP_ID: uniqueName('replay2-b'), ...topicEnv({ ...topics, scores: second }) });
    const b = await readAll(second, 300);
    expect(await stop(clean)).toBe(0);

    const comparable = (m: KafkaMessage) => {
      const { scoredAt, ...value } = JSON.parse(m.value!.toString()) as { scoredAt: number };
      expect(scoredAt).toEqual(expect.any(Number));
      return JSON.stringify({ key: m.key!.toString(), headers: headerTexts(m), value });
    };
    const byId = new Map(b.map((m) => [headerTexts(m).ce_id!, comparable(m)]));
    expect(byId.size).toBe(300);
    // Every record of the crashed run, redeliveries included, equals the clean run's record of that frame.
    for (const m of a) expect(comparable(m)).toBe(byId.get(headerTexts(m).ce_id!));
    expect(new Set(a.map((m) => headerTexts(m).ce_id)).size).toBe(300);
  }, 300_000);
});

describe('the changelog topic', () => {
  it('stops startup, naming the setting and what to do, when it cannot be created', async () => {
    const { env } = await deployment('badlog', { GAIA_DRIFT_CHANGELOG_TOPIC: 'no spaces allowed' });
    const a = agent(env);
    expect(await a.exited()).not.toBe(0);
    expect(a.stderr()).toMatch(/cannot create topic no spaces allowed \(drift\.changelogTopic \(env GAIA_DRIFT_CHANGELOG_TOPIC; drift\.changelog false turns it off\)\)/);
    expect(a.stderr()).toMatch(/create it yourself \(compacted, 2 partitions\)/);
  }, 60_000);
});

describe('a healthy run', () => {
  it('logs nothing at warn level or above, first start against a cluster without its topics included', async () => {
    // No topic exists yet: the agent creates its frames, output and changelog topics.
    const topics = agentTopics('healthy-');
    const a = agent({ GAIA_KAFKA_GROUP_ID: uniqueName('healthy'), ...topicEnv(topics) });
    for (let i = 0; i < 300 && !(await admin.listTopics()).includes(topics.frames); i++) await sleep(100);
    await sleep(500);
    await send(topics.frames, id.slice(0, 100), 'healthy', 'cam-h');
    await readAll(topics.scores, 100);
    expect(await stop(a)).toBe(0);
    const lines = a.stderr().split('\n').filter((l) => l.trim().startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    const loud = lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
    expect(loud).toEqual([]);
    expect(a.stderr()).not.toMatch(/Warning:/);
    expect((await admin.listTopics()).filter((t) => [topics.alerts, topics.scores, topics.dlq].includes(t)).sort()).toEqual([topics.alerts, topics.scores, topics.dlq].sort());
  }, 180_000);
});
