/**
 * KafkaSource's offset handling on the real broker: only the acknowledged contiguous prefix
 * of a partition is committed, commits are coalesced to at most one per commitIntervalMs,
 * stopping commits what is pending, and fetching resumes promptly after a pause.
 */
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaSource } from '../../../src/stream/kafka/source.js';
import type { SourceMessage } from '../../../src/contracts/stream.js';
import { kafkaBrokers, uniqueName } from '../../setup/kafka-context.js';

const COUNT = 40;
const kafka = new kafkajs.Kafka({ clientId: 'gaia-test-source', brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING });
let admin: Admin;
const topics: string[] = [];

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

/** A one-partition topic holding COUNT records, and a source reading it. */
async function sourceOver(
  commitIntervalMs: number,
): Promise<{ source: KafkaSource; groupId: string; topic: string; messages: SourceMessage[]; next: () => Promise<SourceMessage> }> {
  const topic = uniqueName('source');
  topics.push(topic);
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: COUNT }, (_, i) => ({ key: 'cam', value: `frame-${i}` })) });
  await producer.disconnect();
  const groupId = uniqueName('source-group');
  const source = await KafkaSource.create({
    brokers: kafkaBrokers(),
    clientId: 'gaia-test-source',
    ssl: false,
    groupId,
    topic,
    maxBytesPerPartition: 1 << 20,
    fromBeginning: true,
    sessionTimeoutMs: 30_000,
    commitIntervalMs,
  });
  const messages: SourceMessage[] = [];
  const iterator = source.messages()[Symbol.asyncIterator]();
  while (messages.length < COUNT) messages.push((await iterator.next()).value as SourceMessage);
  return { source, groupId, topic, messages, next: async () => (await iterator.next()).value as SourceMessage };
}

async function committed(groupId: string, topic: string): Promise<string> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets!.partitions[0]!.offset;
}

describe('KafkaSource', () => {
  it('commits only the acknowledged contiguous prefix of a partition', async () => {
    const { source, groupId, topic, messages } = await sourceOver(0);
    try {
      await source.ack(messages.slice(0, 10));
      await source.ack(messages.slice(15, 20)); // 10-14 still in flight: nothing past 10 may be committed
      expect(await committed(groupId, topic)).toBe('10');
      await source.ack(messages.slice(10, 15));
      expect(await committed(groupId, topic)).toBe('20');
    } finally {
      await source.close();
    }
  });

  it('coalesces commits to one per commitIntervalMs, and commits what is pending when it stops', async () => {
    const { source, groupId, topic, messages } = await sourceOver(800);
    try {
      await source.ack(messages.slice(0, 10)); // the first commit goes at once
      expect(await committed(groupId, topic)).toBe('10');
      await source.ack(messages.slice(10, 20));
      await source.ack(messages.slice(20, 30));
      expect(await committed(groupId, topic)).toBe('10'); // held back...
      await sleep(1200);
      expect(await committed(groupId, topic)).toBe('30'); // ...and committed together by the timer
      await source.ack(messages.slice(30, 40));
      expect(await committed(groupId, topic)).toBe('30');
    } finally {
      await source.close();
    }
    expect(await committed(groupId, topic)).toBe(String(COUNT));
  });

  it('stays ready through a long backpressure pause: the group heartbeats still reach the broker', async () => {
    const { source } = await sourceOver(0);
    try {
      source.pause();
      // Paused for twice the staleness limit: kafkajs heartbeats every 3 s, and those count
      // (what it reports as fetches while paused reach no broker, and do not).
      const staleMs = 4500;
      const readiness: boolean[] = [];
      for (let t = 0; t < 2 * staleMs; t += 500) {
        await sleep(500);
        readiness.push(source.health(staleMs).ready);
      }
      expect(readiness.every(Boolean)).toBe(true);
      source.resume();
    } finally {
      await source.close();
    }
  });

  it('fetches again promptly after a backpressure pause ends', async () => {
    const { source, topic, next } = await sourceOver(0);
    try {
      source.pause();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: 'cam', value: 'after-pause' }] });
      await producer.disconnect();
      await sleep(500);
      const resumed = performance.now();
      source.resume();
      const m = await next();
      // kafkajs sleeps maxWaitTime while every partition is paused: at its 5 s default this
      // waited 4.5 s here (checked by setting fetchMaxWaitMs: 5000).
      expect(Buffer.from(m.value).toString()).toBe('after-pause');
      expect(performance.now() - resumed).toBeLessThan(1000);
    } finally {
      await source.close();
    }
  });

  it('hands out every frame, whole, when each is larger than kafka.fetchMaxBytes', async () => {
    const topic = uniqueName('source-small-fetch');
    topics.push(topic);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4 }] });
    const frames = Array.from({ length: 12 }, (_, i) => Buffer.alloc(300_000, i + 1));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: frames.map((value, i) => ({ key: `cam-${i % 4}`, value })) });
    await producer.disconnect();
    const source = await KafkaSource.create({
      brokers: kafkaBrokers(),
      clientId: 'gaia-test-source',
      ssl: false,
      groupId: uniqueName('source-group'),
      topic,
      maxBytesPerPartition: 1 << 20,
      fetchMaxBytes: 64 * 1024, // under one frame: the broker still returns the first one it has
      fromBeginning: true,
      sessionTimeoutMs: 30_000,
    });
    try {
      const got: Buffer[] = [];
      for await (const m of source.messages()) {
        got.push(Buffer.from(m.value));
        if (got.length === frames.length) break;
      }
      expect(got.map((b) => [b.length, b[0]]).sort((x, y) => x[1]! - y[1]!)).toEqual(frames.map((f) => [f.length, f[0]]));
      expect(got.every((b) => b.every((v) => v === b[0]))).toBe(true);
    } finally {
      await source.close();
    }
  });
});
