/**
 * Drift state that survives a restart (issue #10, defect 9): with drift.changelogTopic the
 * windows of the sources a delivery touched go to a compacted topic keyed by source; the
 * next owner of the partition restores them before scoring. A camera in an open drift
 * episode keeps it across a restart of the agent: no second drift-started, and the episode
 * gets its drift-resolved from the new agent (it used to be orphaned).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, startAgent, testKafka, topicEnv, type Agent } from './helpers/kafka-agent.js';
import { uniqueName } from './setup/kafka-context.js';

const SAMPLES = join(import.meta.dirname, '..', 'models', 'fmnist-cnn', 'samples');
const load = (sub: string) => readdirSync(join(SAMPLES, sub)).sort().map((n) => readFileSync(join(SAMPLES, sub, n)));
const [id, ood] = [load('id'), load('ood')];
const kafka = testKafka('gaia-test-drift-state');
const topics = { ...agentTopics('dstate-'), scores: '' };
const changelog = uniqueName('dstate-changelog');
const env = {
  GAIA_KAFKA_GROUP_ID: uniqueName('dstate'),
  ...topicEnv(topics),
  GAIA_DRIFT_WINDOW: '50',
  GAIA_DRIFT_RESOLVE_AFTER_MS: '500',
  GAIA_DRIFT_CHANGELOG_TOPIC: changelog,
};
let admin: Admin;
const agents: Agent[] = [];
let ts = 1_700_000_000_000;

async function send(frames: Buffer[], prefix: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: topics.frames,
    acks: -1,
    messages: frames.map((value, i) => ({ key: 'cam-x', value, headers: { 'content-type': 'image/png', 'frame-id': `${prefix}-${i}`, ts: String((ts += 20)) } })),
  });
  await producer.disconnect();
}

const driftEvents = (ms: KafkaMessage[]) => ms.map((m) => JSON.parse(m.value!.toString())).filter((e) => e.type !== 'frame-ood').map((e) => `${e.type} ${e.source}`);

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.frames, numPartitions: 2 }, { topic: topics.alerts }, { topic: topics.dlq }] });
});
afterAll(async () => {
  for (const a of agents) if (a.process.exitCode === null) a.process.kill('SIGKILL');
  await admin.deleteTopics({ topics: [topics.frames, topics.alerts, topics.dlq, changelog] }).catch(() => {});
  await admin.disconnect();
});

describe('drift state across a restart (real broker, drift changelog)', () => {
  it('keeps an open episode through a restart of the agent, and resolves it from the new one', async () => {
    const first = startAgent(env);
    agents.push(first);
    await send(Array.from({ length: 120 }, (_, i) => ood[i % ood.length]!), 'ood-a');
    const opened = await collect(kafka, topics.alerts, (ms) => driftEvents(ms).includes('drift-started cam-x'));
    expect(driftEvents(opened)).toEqual(['drift-started cam-x']);
    first.process.kill('SIGTERM');
    expect(await first.exited(), first.stderr().slice(-1500)).toBe(0);

    const second = startAgent(env);
    agents.push(second);
    // Still out of distribution for a while, then back in: one episode, resolved once.
    await send(Array.from({ length: 30 }, (_, i) => ood[(i + 7) % ood.length]!), 'ood-b');
    await send(Array.from({ length: 150 }, (_, i) => id[i % id.length]!), 'id-b');
    const all = await collect(kafka, topics.alerts, (ms) => driftEvents(ms).includes('drift-resolved cam-x'), 120_000);
    expect(driftEvents(all)).toEqual(['drift-started cam-x', 'drift-resolved cam-x']);
    expect(second.stderr()).toMatch(/"sources":1,.*"msg":"drift state restored from the changelog"/);
    second.process.kill('SIGTERM');
    expect(await second.exited(), second.stderr().slice(-1500)).toBe(0);
  });
});
