/**
 * Outputs to Kafka: events (CloudEvents, keyed by source; docs/EVENTS.md) on the alerts
 * topic, every verdict on the optional scores topic, and undecodable frames on the DLQ
 * (kafka-records.ts says what a record carries and how it stays under the topic limit).
 * Sends use acks=all, and resolve only once the brokers have the records, which is what
 * lets the pipeline commit the input offsets after them.
 */
import kafkajs from 'kafkajs';
import type { Producer, TopicMessages } from 'kafkajs';
import type { AtomicPublisher, BatchOutputs, OffsetLedger, OutputSink, SourceMessage } from '../../contracts/stream.js';
import { connectProducer, kafkaClient, type KafkaConnection } from './client.js';
import { kafkaError } from './errors.js';
import { chunks, topicMessages, type OutputTopics } from './records.js';

export type KafkaSinkOptions = KafkaConnection & OutputTopics;

const topicsOf = (batch: readonly TopicMessages[]) => [...new Set(batch.map((t) => t.topic))].join(', ');

export class KafkaSinks implements OutputSink {
  private constructor(
    private readonly producer: Producer,
    private readonly options: KafkaSinkOptions,
  ) {}

  static async create(options: KafkaSinkOptions): Promise<KafkaSinks> {
    return new KafkaSinks(await connectProducer(options), options);
  }

  /** A delivery's outputs in as few produce requests as the topic limit allows (usually one). */
  async publish(out: BatchOutputs): Promise<void> {
    for (const part of chunks(topicMessages(out, this.options), this.options.maxMessageBytes)) {
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: part });
      } catch (err) {
        throw kafkaError(`publishing to ${topicsOf(part)}`, err);
      }
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Exactly-once: each delivery's alerts, verdicts and dead letters and the consumer offsets
 * they account for are written in one Kafka transaction, so a read_committed reader sees
 * every frame's outputs exactly once even across crashes. The transactional id is fixed per
 * agent instance (see docs/DELIVERY.md): a restarted instance fences its previous
 * incarnation's open transaction.
 */
export class KafkaTransactionalPublisher implements AtomicPublisher {
  private constructor(
    private readonly producer: Producer,
    private readonly options: KafkaSinkOptions,
    private readonly ledger: OffsetLedger,
  ) {}

  static async create(options: KafkaSinkOptions & { transactionalId: string }, ledger: OffsetLedger): Promise<KafkaTransactionalPublisher> {
    let producer: Producer;
    try {
      // The partitioner named, as for every producer here: kafkajs warns at each start otherwise.
      producer = kafkaClient(options).producer({ transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
      await producer.connect();
    } catch (cause) {
      throw kafkaError(`connecting the transactional producer to ${options.brokers.join(',')}`, cause);
    }
    return new KafkaTransactionalPublisher(producer, options, ledger);
  }

  async publish(out: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    const tx = await this.producer.transaction().catch((err: unknown) => {
      throw kafkaError('starting a transaction', err);
    });
    let step = 'publishing';
    try {
      for (const part of chunks(topicMessages(out, this.options), this.options.maxMessageBytes)) {
        step = `publishing to ${topicsOf(part)}`;
        await tx.sendBatch({ topicMessages: part });
      }
      const offsets = this.ledger.committable(messages);
      if (offsets.length > 0) {
        step = `committing offsets of ${this.ledger.topic}`;
        await tx.sendOffsets({ consumerGroupId: this.ledger.groupId, topics: [{ topic: this.ledger.topic, partitions: offsets }] });
      }
      step = 'committing the transaction';
      await tx.commit();
      this.ledger.committed(offsets);
    } catch (err) {
      await tx.abort().catch(() => {});
      throw kafkaError(`${step} (exactly-once)`, err);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
