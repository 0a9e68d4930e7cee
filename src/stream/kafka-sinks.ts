/**
 * Outputs to Kafka: alert events (JSON, keyed by source) on the alerts topic, every verdict
 * on the optional scores topic, and undecodable frames on the DLQ with their original key,
 * value and headers plus the error and where the frame came from. Sends use acks=all, and
 * resolve only once the brokers have the records, which is what lets the pipeline commit
 * the input offsets after them.
 */
import kafkajs from 'kafkajs';
import type { Message, Producer } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { AlertEvent, DeadLetter, VerdictRecord } from './events.js';
import { kafkaClient, type KafkaConnection } from './kafka-client.js';
import type { PipelineSinks } from './pipeline.js';

const { Partitioners } = kafkajs;

export interface KafkaSinkOptions extends KafkaConnection {
  readonly alertsTopic: string;
  /** Empty: verdicts are not published. */
  readonly scoresTopic: string;
  readonly dlqTopic: string;
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

  async alerts(events: readonly AlertEvent[]): Promise<void> {
    await this.send(this.options.alertsTopic, events.map((e) => ({ key: e.source, value: JSON.stringify(e), headers: { 'event-type': e.type } })));
  }

  async verdicts(records: readonly VerdictRecord[]): Promise<void> {
    if (!this.options.scoresTopic) return;
    await this.send(this.options.scoresTopic, records.map((r) => ({ key: r.source, value: JSON.stringify(r) })));
  }

  async deadLetters(letters: readonly DeadLetter[]): Promise<void> {
    await this.send(
      this.options.dlqTopic,
      letters.map((d) => ({
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
      })),
    );
  }

  private async send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length > 0) await this.producer.send({ topic, acks: -1, messages });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
