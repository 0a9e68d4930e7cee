/**
 * Drift state that survives a restart (issue #10, defect 9): with drift.changelogTopic the
 * windows of the sources a delivery touched go to a compacted topic keyed by source; the
 * next owner of the partition restores them before scoring. A camera in an open drift
 * episode keeps it across a restart of the agent: no second drift-started, and the episode
 * gets its drift-resolved from the new agent (it used to be orphaned). The same holds for a
 * rolling restart of two agents, where the camera's partition moves to the other agent and back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, settledAssignment, startAgent, testKafka, topicEnv, type Agent } from '../helpers/kafka-agent.js';
import { uniqueName } from '../setup/kafka-context.js';

const SAMPLES = join(import.meta.dirname, '..', '..', 'models', 'fmnist-cnn', 'samples');
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
const cleanup: string[] = [];
let ts = 1_700_000_000_000;

async function send(frames: Buffer[], prefix: string, to = { topic: topics.frames, key: 'cam-x' }): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: to.topic,
    acks: -1,
    messages: frames.map((value, i) => ({ key: to.key, value, headers: { 'content-type': 'image/png', 'frame-id': `${prefix}-${i}`, ts: String((ts += 20)) } })),
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
  await admin.deleteTopics({ topics: [topics.frames, topics.alerts, topics.dlq, changelog, ...cleanup] }).catch(() => {});
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
    // 300 ID frames: the bundled samples flag above p0 (5.7 % vs 5.1 %), and the CUSUM, capped while open, ends the
    // episode after 70–179 of them at a window of 50 (bench/drift-resolve.ts, 64 start offsets; 71–154 before the
    // partial-shift CUSUM's flagged part, when 150 were sent).
    await send(Array.from({ length: 300 }, (_, i) => id[i % id.length]!), 'id-b');
    const all = await collect(kafka, topics.alerts, (ms) => driftEvents(ms).includes('drift-resolved cam-x'), 120_000);
    expect(driftEvents(all)).toEqual(['drift-started cam-x', 'drift-resolved cam-x']);
    expect(second.stderr()).toMatch(/"sources":1,.*"msg":"drift state restored from the changelog"/);
    second.process.kill('SIGTERM');
    expect(await second.exited(), second.stderr().slice(-1500)).toBe(0);
  });

  it('keeps an open episode through a rolling restart of two agents (the partition moves away and back)', async () => {
    // Topics of its own: the first test's frames and changelog stay out of it.
    const own = { ...agentTopics('dstate-roll-'), scores: '' };
    const ownChangelog = uniqueName('dstate-roll-changelog');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: own.frames, numPartitions: 2 }, { topic: own.alerts }, { topic: own.dlq }] });
    cleanup.push(own.frames, own.alerts, own.dlq, ownChangelog);
    const group = {
      ...env,
      ...topicEnv(own),
      GAIA_DRIFT_CHANGELOG_TOPIC: ownChangelog,
      GAIA_KAFKA_GROUP_ID: uniqueName('dstate-rolling'),
      GAIA_KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const camera = 'cam-y';
    const sendAs = (frames: Buffer[], prefix: string) => send(frames, prefix, { topic: own.frames, key: camera });
    const mine = (ms: KafkaMessage[]) => driftEvents(ms).filter((e) => e.endsWith(` ${camera}`));
    const settled = (members: number) => settledAssignment(admin, group.GAIA_KAFKA_GROUP_ID, own.frames, 2, members);
    let a = startAgent(group);
    agents.push(a);
    await settled(1);
    let b = startAgent(group);
    agents.push(b);
    await settled(2);
    await sendAs(Array.from({ length: 120 }, (_, i) => ood[i % ood.length]!), 'roll-ood-a');
    const opened = await collect(kafka, own.alerts, (ms) => mine(ms).includes(`drift-started ${camera}`));
    expect(mine(opened)).toEqual([`drift-started ${camera}`]);
    // Restart a, then b: each time the leaving agent's partitions go to the other one and back.
    for (const name of ['a', 'b'] as const) {
      const leaving = name === 'a' ? a : b;
      leaving.process.kill('SIGTERM');
      expect(await leaving.exited(), leaving.stderr().slice(-1500)).toBe(0);
      await settled(1);
      const next = startAgent(group);
      agents.push(next);
      await settled(2);
      if (name === 'a') a = next;
      else b = next;
    }
    await sendAs(Array.from({ length: 30 }, (_, i) => ood[(i + 7) % ood.length]!), 'roll-ood-b');
    await sendAs(Array.from({ length: 300 }, (_, i) => id[i % id.length]!), 'roll-id-b'); // 300: as in the first test
    const all = await collect(kafka, own.alerts, (ms) => mine(ms).includes(`drift-resolved ${camera}`), 120_000);
    // One episode, resolved once: no second drift-started, no drift-state-reset.
    expect(mine(all)).toEqual([`drift-started ${camera}`, `drift-resolved ${camera}`]);
    for (const x of [a, b]) x.process.kill('SIGTERM');
    await Promise.all([a.exited(), b.exited()]);
  }, 300_000);
});
