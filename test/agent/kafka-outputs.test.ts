/**
 * Outputs that always fit (issue #10, defects 1 and 2), on the real broker with the output
 * topics at Kafka's default max.message.bytes (1048588; the test broker's global limit is
 * 10 MiB, which would hide the problem). An undecodable 2 MB frame, whose dead letter used to
 * carry the whole frame, and 40 frames with 40 kB frame-id headers, which kafkajs used to send
 * as one record batch, get their dead letter and verdicts, and the partition is committed to
 * its end — in both delivery modes. And when a delivery does fail (a topic whose limit is
 * below what the agent was told), the agent stops at once, without waiting for another
 * frame, and prints the Kafka error (kafkajs codes are numbers: the report used to crash).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { KafkaMessage, Message } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, startAgent, testAdmin, testKafka, topicEnv, verdictIds, type Agent } from '../helpers/kafka-agent.js';
import { uniqueName } from '../setup/kafka-context.js';

const SAMPLES = join(import.meta.dirname, '..', '..', 'models', 'fmnist-cnn', 'samples', 'id');
/** Kafka's default max.message.bytes (broker message.max.bytes and topic max.message.bytes). */
const KAFKA_DEFAULT_LIMIT = '1048588';
const kafka = testKafka('gaia-test-outputs');
const testTopics = testAdmin(kafka);
const created = testTopics.created;

const header = (m: KafkaMessage, name: string) => {
  const h = m.headers?.[name];
  return h === undefined ? undefined : String(Array.isArray(h) ? h[0] : h);
};

/** Frames topic with room for large frames; output topics at `outputLimit` bytes. */
async function topicsWith(kind: string, outputLimit: string, scoresLimit = outputLimit) {
  const topics = agentTopics(`${kind}-`);
  created.push(...Object.values(topics));
  const limit = (value: string) => [{ name: 'max.message.bytes', value }];
  await testTopics.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.frames, numPartitions: 1, configEntries: limit(String(8 * 1024 * 1024)) },
      { topic: topics.alerts, numPartitions: 1, configEntries: limit(outputLimit) },
      { topic: topics.scores, numPartitions: 1, configEntries: limit(scoresLimit) },
      { topic: topics.dlq, numPartitions: 1, configEntries: limit(outputLimit) },
    ],
  });
  return topics;
}

async function produce(topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  // One message per request: the frames themselves must not hit a limit on the way in.
  for (const m of messages) await producer.send({ topic, acks: -1, messages: [m] });
  await producer.disconnect();
}

async function committedToEnd(groupId: string, topic: string): Promise<{ committed: string; end: string }> {
  const [end] = await testTopics.admin.fetchTopicOffsets(topic);
  const [offsets] = await testTopics.admin.fetchOffsets({ groupId, topics: [topic] });
  return { committed: offsets!.partitions[0]!.offset, end: end!.high };
}

const pngs = readdirSync(SAMPLES).sort().slice(0, 50).map((n) => readFileSync(join(SAMPLES, n)));

describe.each([
  ['at-least-once', {}],
  ['exactly-once', { GAIA_KAFKA_EXACTLY_ONCE: 'true' }],
] as const)('outputs under the 1 MB default topic limit, %s (real broker)', (mode, modeEnv) => {
  let agent: Agent | undefined;
  afterAll(() => {
    if (agent && agent.process.exitCode === null) agent.process.kill('SIGKILL');
  });

  it('dead-letters a 2 MB undecodable frame by coordinates and digest, scores 40 frames with 40 kB ids, and commits the partition to its end', async () => {
    const topics = await topicsWith(mode === 'at-least-once' ? 'fit' : 'fit-eos', KAFKA_DEFAULT_LIMIT);
    // A PNG signature over 2 MB of noise: fetched (frames.maxBytes is 8 MiB), undecodable.
    const big = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    const longId = (i: number) => `long-${i}-${'x'.repeat(40_000)}`;
    const messages: Message[] = [
      ...pngs.slice(0, 5).map((value, i) => ({ key: 'cam-1', value, headers: { 'content-type': 'image/png', 'frame-id': `a-${i}` } })),
      { key: 'cam-1', value: big, headers: { 'content-type': 'image/png', 'frame-id': 'big' } },
      ...pngs.slice(5, 45).map((value, i) => ({ key: 'cam-1', value, headers: { 'content-type': 'image/png', 'frame-id': longId(i) } })),
      ...pngs.slice(45, 50).map((value, i) => ({ key: 'cam-1', value, headers: { 'content-type': 'image/png', 'frame-id': `b-${i}` } })),
    ];
    await produce(topics.frames, messages);
    const groupId = uniqueName('fit-agent');
    // A large batch: the 40 long-id verdicts would otherwise be split by the batcher anyway.
    agent = startAgent({ GAIA_KAFKA_GROUP_ID: groupId, ...topicEnv(topics), GAIA_MAX_BATCH: '64', GAIA_MAX_WAIT_MS: '200', ...modeEnv, ...(mode === 'exactly-once' ? { GAIA_KAFKA_TRANSACTIONAL_ID: uniqueName('tx') } : {}) });

    const verdicts = await collect(kafka, topics.scores, (ms) => ms.length >= 50, 120_000);
    const ids = verdictIds(verdicts);
    expect(new Set(ids).size, agent.stderr().slice(-2000)).toBe(50);
    // Frame ids are capped (prefix and digest), and stay distinct.
    for (const id of ids) expect(Buffer.byteLength(id)).toBeLessThanOrEqual(256);
    expect(ids.filter((id) => id.startsWith('long-'))).toHaveLength(40);

    const [letter] = await collect(kafka, topics.dlq, (ms) => ms.length >= 1);
    expect(header(letter!, 'frame-id')).toBe('big');
    expect(header(letter!, 'x-error-reason')).toBe('undecodable');
    expect(header(letter!, 'x-value-omitted')).toBe('too-large');
    expect(header(letter!, 'x-value-bytes')).toBe(String(big.length));
    expect(header(letter!, 'x-value-sha256')).toBe(createHash('sha256').update(big).digest('hex'));
    expect(header(letter!, 'x-source-topic')).toBe(topics.frames);
    expect(header(letter!, 'x-source-offset')).toBe('5');
    expect(letter!.value).toBeNull();

    const url = await agent.telemetry();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // Lag counts what is not committed; it reaches 0 once the last delivery is committed.
    let metrics = '';
    for (let i = 0; i < 50 && !/gaia_consumer_lag\{partition="0"\} 0\n/.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 200));
      metrics = await (await fetch(`${url}/metrics`)).text();
    }
    expect(metrics).toMatch(/gaia_consumer_lag\{partition="0"\} 0\n/);
    for (const stage of ['publish', 'commit', 'transaction']) expect(metrics).toContain(`gaia_delivery_failures_total{stage="${stage}"} 0`);
    agent.process.kill('SIGTERM');
    expect(await agent.exited(), agent.stderr().slice(-2000)).toBe(0);
    const { committed, end } = await committedToEnd(groupId, topics.frames);
    expect(committed).toBe(end);
  });
});

describe('a delivery the brokers refuse (real broker)', () => {
  it('stops the agent at once, without waiting for another frame, and prints the Kafka error', async () => {
    // Misconfigured on purpose: the scores topic takes 2 000 bytes, the agent is told 1 MB.
    const topics = await topicsWith('refused', KAFKA_DEFAULT_LIMIT, '2000');
    await produce(
      topics.frames,
      pngs.slice(0, 20).map((value, i) => ({ key: 'cam-1', value, headers: { 'content-type': 'image/png', 'frame-id': `f-${i}` } })),
    );
    const groupId = uniqueName('refused-agent');
    const agent = startAgent({ GAIA_KAFKA_GROUP_ID: groupId, ...topicEnv(topics), GAIA_MAX_BATCH: '32', GAIA_MAX_WAIT_MS: '200' });
    // No frame arrives after the failing delivery for 20 s: the agent must not wait for one.
    // (Then one more arrives, so that an agent that did wait reaches its error report too.)
    const early = await Promise.race([agent.exited().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20_000))]);
    if (!early) await produce(topics.frames, [{ key: 'cam-1', value: pngs[20]!, headers: { 'content-type': 'image/png', 'frame-id': 'late' } }]);
    const exit = await Promise.race([agent.exited(), new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    if (exit === 'still running') agent.process.kill('SIGKILL');
    expect(exit, agent.stderr().slice(-2000)).toBe(1); // a refusal that repeats: not transient
    expect(agent.stderr(), 'the Kafka error is reported, not a TypeError of the report').not.toContain('TypeError');
    expect(early, 'stopped without waiting for another frame').toBe(true);
    expect(agent.stderr()).toMatch(/publishing to .*refused-scores.* failed \(MESSAGE_TOO_LARGE\).*\[GAIA_KAFKA\]/);
    expect(agent.stderr()).toContain('delivery failed');
    // Nothing past the failed delivery is committed: a restart redelivers those frames.
    const [offsets] = await testTopics.admin.fetchOffsets({ groupId, topics: [topics.frames] });
    expect(offsets!.partitions[0]!.offset).toBe('-1');
  });
});
