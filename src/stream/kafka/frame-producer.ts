/**
 * Frames into the frames topic, as the agent expects them (docs/EVENTS.md, input contract):
 * key = the source id, the encoded image as the value, `content-type`, `frame-id` and `ts`
 * (capture time, ms since the epoch) headers. Idempotent, acks=all: a frame the command
 * counts as sent is on the brokers exactly once, whatever retries happened.
 */
import type { Producer } from 'kafkajs';
import { connectProducer, type KafkaConnection } from './client.js';
import { kafkaError } from './errors.js';

export interface OutgoingFrame {
  readonly source: string;
  readonly frameId: string;
  readonly value: Uint8Array;
  readonly contentType: string;
  /** Capture time, ms since the epoch. */
  readonly ts: number;
}

export class KafkaFrameProducer {
  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  static async create(options: KafkaConnection & { topic: string }): Promise<KafkaFrameProducer> {
    return new KafkaFrameProducer(await connectProducer(options), options.topic);
  }

  async send(frames: readonly OutgoingFrame[]): Promise<void> {
    if (frames.length === 0) return;
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: frames.map((f) => ({
          key: f.source,
          value: Buffer.from(f.value.buffer, f.value.byteOffset, f.value.byteLength),
          headers: { 'content-type': f.contentType, 'frame-id': f.frameId, ts: String(f.ts) },
        })),
      });
    } catch (err) {
      throw kafkaError(`publishing frames to ${this.topic}`, err);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
