/**
 * Two agents in one consumer group on the real broker. Drift windows live with the
 * partition owner (docs/DEFINITIONS.md#drift-episodes): when a second agent joins and the group rebalances, the
 * first one drops the drift state and the drift series of the sources on the partition it
 * lost (a stale gaia_drift_active=1 would keep an alert firing forever), and its consumer
 * lag gauge keeps only the partition it still owns; the new owner builds its own window
 * and raises its own episode.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, KafkaMessage, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, startAgent, testKafka, topicEnv, type Agent } from '../helpers/kafka-agent.js';
import { uniqueName } from '../setup/kafka-context.js';

const OOD = join(import.meta.dirname, '..', '..', 'models', 'fmnist-cnn', 'samples', 'ood');
const ood = readdirSync(OOD)
  .sort()
  .map((n) => readFileSync(join(OOD, n)));
const topics = { ...agentTopics(), scores: '' }; // no scores topic: drift events are what counts here
const groupId = uniqueName('rebalance');
const kafka = testKafka('gaia-test-rebalance');
/** One camera per partition (sources are routed by key; here the partition is explicit). */
const CAMERAS = ['cam-p0', 'cam-p1'];
const env = {
  GAIA_KAFKA_GROUP_ID: groupId,
  ...topicEnv(topics),
  GAIA_DRIFT_WINDOW: '50',
  // This test is about the changelog turned off: a moved source's open episode ends with a drift-state-reset.
  GAIA_DRIFT_CHANGELOG: 'false',
  GAIA_KAFKA_SESSION_TIMEOUT_MS: '10000',
};

let admin: Admin;
const agents: Agent[] = [];

async function send(count: number, start: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const messages: Message[] = [];
  for (let i = start; i < start + count; i++) {
    CAMERAS.forEach((cam, partition) => {
      messages.push({ key: cam, partition, value: ood[i % ood.length]!, headers: { 'content-type': 'image/png', 'frame-id': `${cam}-${i}`, ts: String(Date.now()) } });
    });
  }
  await producer.send({ topic: topics.frames, acks: -1, messages });
  await producer.disconnect();
}

async function metrics(agent: Agent): Promise<string> {
  return (await fetch(`${await agent.telemetry()}/metrics`)).text();
}

const driftStarted = (ms: KafkaMessage[]) => ms.map((m) => JSON.parse(m.value!.toString())).filter((e) => e.type === 'drift-started');

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.frames, numPartitions: 2 }, { topic: topics.alerts }, { topic: topics.dlq }] });
});

afterAll(async () => {
  for (const a of agents) if (a.process.exitCode === null) a.process.kill('SIGKILL');
  await admin.deleteTopics({ topics: [topics.frames, topics.alerts, topics.dlq] }).catch(() => {});
  await admin.disconnect();
});

describe('a rebalance between two agents (real broker)', () => {
  it('moves drift state with the partition: the old owner drops it, the new owner raises its own episode', async () => {
    // Agent A alone: both cameras drift, so A holds an open episode for each.
    const a = startAgent(env);
    agents.push(a);
    await send(80, 0);
    await collect(kafka, topics.alerts, (ms) => driftStarted(ms).length >= 2);
    let text = await metrics(a);
    for (const cam of CAMERAS) expect(text).toContain(`gaia_drift_active{model="fmnist-cnn",source="${cam}"} 1`);

    // Agent B joins: the group splits the two partitions between A and B.
    const b = startAgent(env);
    agents.push(b);
    for (let i = 0; i < 300 && !a.stderr().includes('partitions moved to another consumer'); i++) await sleep(100);
    expect(a.stderr(), 'agent A logged no revocation').toContain('partitions moved to another consumer');
    const revoked = JSON.parse(a.stderr().split('\n').find((l) => l.includes('partitions moved to another consumer'))!).partitions as number[];
    expect(revoked).toHaveLength(1);
    const [moved, kept] = revoked[0] === 0 ? CAMERAS : [...CAMERAS].reverse();

    text = await metrics(a);
    expect(text).toContain(`gaia_drift_active{model="fmnist-cnn",source="${kept}"} 1`);
    expect(text).not.toContain(`gaia_drift_active{model="fmnist-cnn",source="${moved}"}`);
    expect(text).not.toContain(`gaia_drift_ratio{model="fmnist-cnn",source="${moved}"}`);
    expect(text).not.toMatch(new RegExp(`gaia_consumer_lag\\{partition="${revoked[0]}"\\}`));
    // No drift changelog here: the episode A had open for the moved camera is not left
    // orphaned, A closes it with a drift-state-reset (issue #10, defect 9).
    const resets = await collect(kafka, topics.alerts, (ms) => ms.some((m) => JSON.parse(m.value!.toString()).type === 'drift-state-reset'));
    const reset = resets.map((m) => JSON.parse(m.value!.toString())).filter((e) => e.type === 'drift-state-reset');
    expect(reset).toEqual([expect.objectContaining({ type: 'drift-state-reset', source: moved, model: 'fmnist-cnn', startedAt: expect.any(Number) })]);

    // More drifting frames: B, the new owner of the moved camera, opens its own episode.
    await b.telemetry();
    await send(80, 80);
    await collect(kafka, topics.alerts, (ms) => driftStarted(ms).filter((e) => e.source === moved).length >= 2);
    for (let i = 0; i < 100 && !(await metrics(b)).includes(`gaia_drift_active{model="fmnist-cnn",source="${moved}"} 1`); i++) await sleep(100);
    expect(await metrics(b)).toContain(`gaia_drift_active{model="fmnist-cnn",source="${moved}"} 1`);
    expect(await metrics(b)).not.toContain(`gaia_drift_active{model="fmnist-cnn",source="${kept}"}`);

    for (const agent of [a, b]) agent.process.kill('SIGTERM');
    expect(await Promise.all([a.exited(), b.exited()])).toEqual([0, 0]);
  }, 120_000);
});
