/**
 * The drift-state changelog (the Kafka Streams state-store pattern): a compacted topic keyed
 * by source, one partition per input partition, each source's record in the partition its
 * frames arrive on. Every delivery writes the windows of the sources it touched (in the same
 * produce request or transaction as the verdicts); a consumer that is given a partition
 * reads that changelog partition to its end before it scores the partition's frames, so a
 * restart or a partition move keeps the sources' windows and open episodes. The topic itself
 * is prepared with the others (topics.ts).
 */
import { randomBytes } from 'node:crypto';
import type { DriftSnapshot } from '../../contracts/drift.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { kafkaClient, type KafkaConnection } from './client.js';

/**
 * The latest snapshot per source on the given changelog partitions, read from their start
 * to the end they had when the read began (a tombstone removes a source).
 */
export async function readChangelog(c: KafkaConnection, changelog: string, partitions: readonly number[], timeoutMs: number): Promise<Map<string, DriftSnapshot>> {
  const kafka = kafkaClient(c);
  const admin = kafka.admin();
  const state = new Map<string, DriftSnapshot>();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(changelog);
    ends = new Map(offsets.filter((o) => partitions.includes(o.partition)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const remaining = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  if (remaining.size === 0) return state;
  // kafkajs has no partition assignment without a group: a throwaway group reads the topic.
  const groupId = `gaia-restore-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: changelog, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GaiaError(ErrorCodes.KAFKA, `reading the drift changelog ${changelog} took over ${timeoutMs} ms`, { retriable: true })), timeoutMs);
      void consumer
        .run({
          eachBatch: async ({ batch }) => {
            if (!ends.has(batch.partition)) return;
            for (const m of batch.messages) {
              const key = m.key?.toString('utf8');
              if (key === undefined) continue;
              if (m.value === null) state.delete(key);
              else {
                try {
                  state.set(key, JSON.parse(m.value.toString('utf8')) as DriftSnapshot);
                } catch {
                  state.delete(key); // unreadable: that source starts afresh
                }
              }
            }
            // The end may be a transaction marker, not a record: the batch's last offset counts.
            if (BigInt(batch.lastOffset()) + 1n >= ends.get(batch.partition)!) remaining.delete(batch.partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
    const cleanup = kafka.admin();
    await cleanup.connect().then(() => cleanup.deleteGroups([groupId])).catch(() => {});
    await cleanup.disconnect().catch(() => {});
  }
  return state;
}
