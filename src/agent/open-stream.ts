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
import { readChangelog } from '../stream/kafka/changelog.js';
import { prepareTopics } from '../stream/kafka/topics.js';
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

/** The drift changelog topic, or '' when it is off. */
export function changelogTopic(config: Readonly<Config>): string {
  return config.drift.changelog ? config.drift.changelogTopic || `${config.kafka.groupId}-drift-changelog` : '';
}

/** The output topics and event settings both source kinds share (a replay prints them with --json). */
function outputTopics(config: Readonly<Config>, model: string): OutputTopics {
  const k = config.kafka;
  return {
    alertsTopic: k.alertsTopic,
    scoresTopic: k.scoresTopic,
    dlqTopic: k.dlqTopic,
    changelogTopic: changelogTopic(config),
    maxMessageBytes: k.maxMessageBytes,
    frameOodOnAlerts: k.frameOodOnAlerts,
    // The deployment: ids are unique within it (docs/EVENTS.md), whatever the consumer group is called.
    eventSource: k.eventSource || `/gaia-sentinel/${encodeURIComponent(model)}`,
  };
}

/** `json`: print every published record there (`run --json`); a replay then "publishes" only there. */
export async function openStream(config: Readonly<Config>, model: { readonly name: string; readonly dir: string }, log: Logger, json?: Writable): Promise<Stream> {
  const topics = outputTopics(config, model.name);
  const modelDir = model.dir;
  if (config.source.kind !== 'kafka') {
    const samples = (sub: string, repeat: number) => ({ dir: join(modelDir, 'samples', sub), repeat });
    const phases = config.replay.dirs.length > 0 ? config.replay.dirs.map(parsePhase) : [samples('id', 1), samples('ood', 1), samples('id', 2)];
    const source = await ReplaySource.create({ phases, source: config.replay.source, fps: config.replay.fps, maxBytes: config.frames.maxBytes });
    return { source, sink: json ? jsonLinesSink(topics, json) : NO_SINK, deliveryIntervalMs: 0, description: source.description, finite: true };
  }
  const k = config.kafka;
  const connection = kafkaConnection(config, log);
  const changelog = changelogTopic(config);
  await prepareTopics(connection, {
    frames: k.framesTopic,
    outputs: [
      { topic: k.alertsTopic, setting: 'kafka.alertsTopic (env GAIA_KAFKA_ALERTS_TOPIC)' },
      { topic: k.dlqTopic, setting: 'kafka.dlqTopic (env GAIA_KAFKA_DLQ_TOPIC)' },
      ...(k.scoresTopic ? [{ topic: k.scoresTopic, setting: 'kafka.scoresTopic (env GAIA_KAFKA_SCORES_TOPIC)' }] : []),
    ],
    ...(changelog ? { changelog } : {}),
  });
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
      fetchMaxBytes: k.fetchMaxBytes,
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
      ...(changelog ? { restore: (partitions: readonly number[]) => readChangelog(connection, changelog, partitions, 60_000) } : {}),
      description:
        `${source.description}; alerts → ${k.alertsTopic}${k.frameOodOnAlerts ? ' (with frame-ood)' : ''}, dead letters → ${k.dlqTopic}` +
        `${k.scoresTopic ? `, verdicts → ${k.scoresTopic}` : ''}; ${atomic ? `exactly-once (transactional id ${transactionalId})` : 'at-least-once'}`,
    };
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => {});
    throw err;
  }
}
