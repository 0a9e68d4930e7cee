/**
 * Outputs to Kafka: alert events (JSON, keyed by source) on the alerts topic, every verdict
 * on the optional scores topic, and undecodable frames on the DLQ with their original key,
 * value and headers plus the error and where the frame came from. Sends use acks=all, and
 * resolve only once the brokers have the records, which is what lets the pipeline commit
 * the input offsets after them.
 */
import kafkajs from 'kafkajs';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { AlertEvent, DeadLetter, VerdictRecord } from './events.js';
import { kafkaClient, type KafkaConnection } from './kafka-client.js';
import type { AtomicPublisher, BatchOutputs, PipelineSinks, SourceMessage } from './pipeline.js';
import type { KafkaSource } from './kafka-source.js';

const { Partitioners } = kafkajs;

export interface KafkaSinkOptions extends KafkaConnection {
  readonly alertsTopic: string;
  /** Empty: verdicts are not published. */
  readonly scoresTopic: string;
  readonly dlqTopic: string;
}

const alertMessage = (e: AlertEvent): Message => ({ key: e.source, value: JSON.stringify(e), headers: { 'event-type': e.type } });
const verdictMessage = (r: VerdictRecord): Message => ({ key: r.source, value: JSON.stringify(r) });
const deadLetterMessage = (d: DeadLetter): Message => ({
  key: d.key ?? null,
  value: Buffer.from(d.value),
  headers: {
    ...Object.fromEntries(Object.entries(d.headers).filter((e): e is [string, string] => e[1] !== undefined)),
    'x-error-reason': d.reason,
    'x-error-message': d.message,
    'x-source-topic': d.topic ?? '',
    'x-source-partition': String(d.partition ?? ''),
    'x-source-offset': d.offset ?? '',
  },
});

/** A batch's outputs as messages per topic, leaving out empty lists (and verdicts when scoresTopic is empty). */
function topicMessages(out: BatchOutputs, o: KafkaSinkOptions): TopicMessages[] {
  const all: TopicMessages[] = [
    { topic: o.alertsTopic, messages: out.events.map(alertMessage) },
    { topic: o.scoresTopic, messages: o.scoresTopic ? out.records.map(verdictMessage) : [] },
    { topic: o.dlqTopic, messages: out.letters.map(deadLetterMessage) },
  ];
  return all.filter((t) => t.messages.length > 0);
}

export class KafkaSinks implements PipelineSinks {
  private constructor(
    private readonly producer: Producer,
    private readonly options: KafkaSinkOptions,
  ) {}

  static async create(options: KafkaSinkOptions): Promise<KafkaSinks> {
    const producer = kafkaClient(options).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await producer.connect();
    } catch (cause) {
      throw new GaiaError(ErrorCodes.RUNTIME, `cannot connect the producer to ${options.brokers.join(',')}: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
    }
    return new KafkaSinks(producer, options);
  }

  /** A whole batch's outputs in one produce request per broker (fewer requests: less broker CPU per frame). */
  async publish(out: BatchOutputs): Promise<void> {
    const batch = topicMessages(out, this.options);
    if (batch.length > 0) await this.producer.sendBatch({ acks: -1, topicMessages: batch });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Exactly-once: each batch's alerts, verdicts and dead letters and the consumer offsets
 * they account for are written in one Kafka transaction, so a read_committed reader sees
 * every frame's outputs exactly once even across crashes. The transactional id is fixed per
 * agent instance (see docs/DELIVERY.md): a restarted instance fences its previous
 * incarnation's open transaction.
 */
export class KafkaTransactionalPublisher implements AtomicPublisher {
  private constructor(
    private readonly producer: Producer,
    private readonly options: KafkaSinkOptions,
    private readonly source: KafkaSource,
  ) {}

  static async create(options: KafkaSinkOptions & { transactionalId: string }, source: KafkaSource): Promise<KafkaTransactionalPublisher> {
    const producer = kafkaClient(options).producer({ transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
    } catch (cause) {
      throw new GaiaError(ErrorCodes.RUNTIME, `cannot connect the transactional producer to ${options.brokers.join(',')}: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
    }
    return new KafkaTransactionalPublisher(producer, options, source);
  }

  async publish(out: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    const tx = await this.producer.transaction();
    try {
      const batch = topicMessages(out, this.options);
      if (batch.length > 0) await tx.sendBatch({ topicMessages: batch });
      const offsets = this.source.committable(messages);
      if (offsets.length > 0) {
        await tx.sendOffsets({
          consumerGroupId: this.source.groupId,
          topics: [{ topic: offsets[0]!.topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) }],
        });
      }
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
