/**
 * The test broker itself, end to end with kafkajs and nothing mocked: a topic with two
 * partitions, ten keyed records with headers (one of them a 1 MiB "frame"), read back by a
 * consumer group, offsets committed. Needs the global setup test/setup/kafka.ts, which starts
 * a real broker (scripts/kafka/broker.sh) or uses KAFKA_BROKERS.
 */
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, uniqueName } from '../../setup/kafka-context.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const FRAME_BYTES = 1024 * 1024; // 1 MiB: over Kafka's default 1 MB record limit
const TOPIC_MAX_BYTES = 4 * 1024 * 1024;
const PARTITIONS = 2;
const COUNT = 10;
const BIG = 7; // index of the record carrying the 1 MiB frame

interface Sent {
  key: string;
  value: Buffer;
  partition: number;
  headers: Record<string, string>;
}

function record(i: number): Sent {
  const value = i === BIG ? randomBytes(FRAME_BYTES) : Buffer.from(`frame-${i}:${randomBytes(8).toString('hex')}`);
  return {
    key: `source-${i}`,
    value,
    partition: i % PARTITIONS,
    headers: {
      'content-type': i === BIG ? 'application/octet-stream' : 'text/plain',
      'frame-id': `f-${i}`,
      ts: String(1_700_000_000_000 + i),
      ...(i === BIG ? { 'x-shape': '1024x1024x1', 'x-dtype': 'uint8' } : {}),
    },
  };
}

function headerText(msg: KafkaMessage, name: string): string | undefined {
  const h = msg.headers?.[name];
  const one = Array.isArray(h) ? h[0] : h;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

describe('Kafka test broker (real, via kafkajs)', () => {
  const topic = uniqueName('broker-smoke');
  const groupId = uniqueName('broker-smoke-group');
  const kafka = new Kafka({
    clientId: 'gaia-test-broker-smoke',
    brokers: kafkaBrokers(),
    connectionTimeout: 5_000,
    logLevel: logLevel.WARN,
  });
  let admin: Admin;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('round-trips keyed records with headers and a 1 MiB frame through a consumer group', async () => {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: PARTITIONS,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_BYTES) }],
        },
      ],
    });
    expect(created).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(PARTITIONS);

    const sent = Array.from({ length: COUNT }, (_, i) => record(i));
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    const acks = await producer.send({
      topic,
      acks: -1,
      messages: sent.map((s) => ({ key: s.key, value: s.value, partition: s.partition, headers: s.headers })),
    });
    expect(acks.map((a) => a.errorCode)).toEqual(acks.map(() => 0));

    consumer = kafka.consumer({
      groupId,
      maxBytesPerPartition: TOPIC_MAX_BYTES,
      maxBytes: 4 * TOPIC_MAX_BYTES,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });

    const got: { partition: number; offset: string; message: KafkaMessage }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${got.length} of ${COUNT} records in 20 s`)), 20_000);
      consumer!
        .run({
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, offset: message.offset, message });
            if (got.length === COUNT) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });

    expect(got).toHaveLength(COUNT);
    for (const s of sent) {
      const g = got.find((x) => x.message.key?.toString('utf8') === s.key);
      expect(g, `record ${s.key}`).toBeDefined();
      expect(g!.partition).toBe(s.partition);
      expect(g!.message.value?.length).toBe(s.value.length);
      expect(g!.message.value?.equals(s.value), `value of ${s.key}`).toBe(true);
      for (const [name, value] of Object.entries(s.headers)) expect(headerText(g!.message, name)).toBe(value);
      expect(Object.keys(g!.message.headers ?? {}).sort()).toEqual(Object.keys(s.headers).sort());
    }
    // Per partition, records arrive in the order sent, at offsets 0..n-1.
    for (let p = 0; p < PARTITIONS; p++) {
      const keys = got.filter((x) => x.partition === p).map((x) => x.message.key?.toString('utf8'));
      expect(keys).toEqual(sent.filter((s) => s.partition === p).map((s) => s.key));
      expect(got.filter((x) => x.partition === p).map((x) => x.offset)).toEqual(keys.map((_, i) => String(i)));
    }

    // The group committed its position: leaving it commits what was consumed.
    await consumer.disconnect();
    consumer = undefined;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed?.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, String(COUNT / PARTITIONS)],
      [1, String(COUNT / PARTITIONS)],
    ]);
  });
});
