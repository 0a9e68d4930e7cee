/**
 * The configured source and sinks: a replay of image folders with no outputs, or Kafka in
 * and out (at-least-once sinks, or an exactly-once transactional publisher). The one place
 * that looks at source.kind.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { DriftSnapshot } from '../contracts/drift.js';
import type { AtomicPublisher, FrameSource, OutputSink } from '../contracts/stream.js';
import { jsonLinesSink, printingPublisher, printingSink, type Writable } from '../stream/kafka/json-lines.js';
import { ensureChangelog, readChangelog } from '../stream/kafka/changelog.js';
import { kafkaConnection } from '../stream/kafka/client.js';
import type { OutputTopics } from '../stream/kafka/records.js';
import { KafkaSinks, KafkaTransactionalPublisher } from '../stream/kafka/sinks.js';
import { KafkaSource } from '../stream/kafka/source.js';
import { parsePhase, ReplaySource } from '../stream/replay-source.js';

export interface Stream {
  readonly source: FrameSource;
  readonly sink: OutputSink;
  readonly atomic?: AtomicPublisher;
  /** Least time between two deliveries (ms): the linger or the transaction interval. */
  readonly deliveryIntervalMs: number;
  readonly description: string;
  /** A finite replay (keeps a per-frame summary) rather than an endless stream. */
  readonly finite: boolean;
  /** With a drift changelog: the latest drift windows of the sources on these input partitions. */
  readonly restore?: (partitions: readonly number[]) => Promise<Map<string, DriftSnapshot>>;
}

const NO_SINK: OutputSink = { publish: async () => {}, close: async () => {} };

/** The output topics and event settings both source kinds share (a replay prints them with --json). */
function outputTopics(config: Readonly<Config>): OutputTopics {
  const k = config.kafka;
  return {
    alertsTopic: k.alertsTopic,
    scoresTopic: k.scoresTopic,
    dlqTopic: k.dlqTopic,
    changelogTopic: config.drift.changelogTopic,
    maxMessageBytes: k.maxMessageBytes,
    frameOodOnAlerts: k.frameOodOnAlerts,
    // The consumer group is the deployment: ids are unique within it (docs/EVENTS.md).
    eventSource: config.source.kind === 'kafka' ? `/gaia-sentinel/${encodeURIComponent(k.groupId)}` : '/gaia-sentinel/replay',
  };
}

/** `json`: print every published record there (`run --json`); a replay then "publishes" only there. */
export async function openStream(config: Readonly<Config>, modelDir: string, log: Logger, json?: Writable): Promise<Stream> {
  const topics = outputTopics(config);
  if (config.source.kind !== 'kafka') {
    const samples = (sub: string, repeat: number) => ({ dir: join(modelDir, 'samples', sub), repeat });
    const phases = config.replay.dirs.length > 0 ? config.replay.dirs.map(parsePhase) : [samples('id', 1), samples('ood', 1), samples('id', 2)];
    const source = await ReplaySource.create({ phases, source: config.replay.source, fps: config.replay.fps, maxBytes: config.frames.maxBytes });
    return { source, sink: json ? jsonLinesSink(topics, json) : NO_SINK, deliveryIntervalMs: 0, description: source.description, finite: true };
  }
  const k = config.kafka;
  const connection = kafkaConnection(config, log);
  const changelogTopic = config.drift.changelogTopic;
  if (changelogTopic) await ensureChangelog(connection, changelogTopic, k.framesTopic);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const kafkaSink = await KafkaSinks.create({ ...connection, ...topics });
    opened.push(kafkaSink);
    const sink = json ? printingSink(kafkaSink, topics, json) : kafkaSink;
    const source = await KafkaSource.create({
      ...connection,
      groupId: k.groupId,
      topic: k.framesTopic,
      maxBytesPerPartition: k.maxBytesPerPartition,
      fromBeginning: k.fromBeginning,
      sessionTimeoutMs: k.sessionTimeoutMs,
      fetchMaxWaitMs: k.fetchMaxWaitMs,
      commitIntervalMs: k.commitIntervalMs,
    });
    opened.push(source);
    const transactionalId = k.transactionalId || `${k.groupId}-${hostname()}`;
    const transactional = k.exactlyOnce ? await KafkaTransactionalPublisher.create({ ...connection, ...topics, transactionalId }, source) : undefined;
    const atomic = transactional && json ? printingPublisher(transactional, topics, json) : transactional;
    return {
      source,
      sink,
      ...(atomic ? { atomic } : {}),
      deliveryIntervalMs: atomic ? k.transactionIntervalMs : k.lingerMs,
      finite: false,
      ...(changelogTopic ? { restore: (partitions: readonly number[]) => readChangelog(connection, changelogTopic, partitions, 60_000) } : {}),
      description:
        `${source.description}; alerts → ${k.alertsTopic}${k.frameOodOnAlerts ? ' (with frame-ood)' : ''}, dead letters → ${k.dlqTopic}` +
        `${k.scoresTopic ? `, verdicts → ${k.scoresTopic}` : ''}; ${atomic ? `exactly-once (transactional id ${transactionalId})` : 'at-least-once'}`,
    };
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => {});
    throw err;
  }
}
