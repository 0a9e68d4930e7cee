/**
 * Frames from Kafka (kafkajs consumer group), as a FrameSource. Offsets are committed
 * only for messages the pipeline has acknowledged (their outputs were accepted by the
 * brokers), and only as a contiguous prefix per partition, so a crash redelivers every
 * frame whose outputs might be missing: at-least-once. The kafkajs pitfalls this design
 * follows: manual resolution (eachBatchAutoResolve false, autoCommit off, explicit
 * commitOffsets), maxBytesPerPartition above the largest frame, isRunning()/isStale()
 * checked inside the batch loop, and pause/resume for backpressure.
 */
import kafkajs from 'kafkajs';
import type { Consumer } from 'kafkajs';
import type { FrameSource, OffsetLedger, RevokedPartitions, SourceHealth, SourceMessage } from '../../contracts/stream.js';
import { kafkaClient, kafkaRetry, type KafkaConnection } from './client.js';
import { kafkaError } from './errors.js';
import { MessageFetcher } from './message-fetcher.js';
import { OffsetCommitter } from './offset-committer.js';
import { PartitionSubscription } from './partition-subscription.js';
import { stickyAssigner } from './sticky-assigner.js';

export type { KafkaConnection } from './client.js';
export { headerText, UNKEYED } from './message-fetcher.js';

export interface KafkaSourceOptions extends KafkaConnection {
  readonly groupId: string;
  readonly topic: string;
  /** Largest frame accepted from a partition in one fetch (must exceed the largest frame). */
  readonly maxBytesPerPartition: number;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  /** Broker-side fetch wait; kafkajs also sleeps this long while every partition is paused (default 100). */
  readonly fetchMaxWaitMs?: number;
  /** Most bytes per fetch, all partitions (absent or 0: 4 × maxBytesPerPartition, at least 10 MiB). */
  readonly fetchMaxBytes?: number;
  /**
   * Acknowledged offsets are committed at most this often (ms; 0 = after every batch). Each
   * commit is a request the broker writes to its offsets log; a crash redelivers at most
   * this much more (at-least-once either way). Stopping commits what is pending.
   */
  readonly commitIntervalMs?: number;
}

/**
 * The source is three parts over one kafkajs consumer, as kafkajs splits the same work:
 * fetching (message-fetcher.ts), offsets (offset-committer.ts) and the subscription
 * (partition-subscription.ts). This class wires them together and orders the steps that
 * involve more than one: what a revocation drops, closing and aborting.
 */
export class KafkaSource implements FrameSource, OffsetLedger {
  private readonly subscription: PartitionSubscription;
  private readonly offsets: OffsetCommitter;
  private readonly fetcher: MessageFetcher;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly consumer: Consumer,
    private readonly options: KafkaSourceOptions,
  ) {
    this.subscription = new PartitionSubscription(consumer, options, {
      isStopped: () => this.fetcher.isStopped,
      // Revoked partitions lose their offsets (never committed here) and their queued frames.
      release: (revoked) => {
        this.offsets.forget(revoked);
        this.fetcher.dropQueued(revoked);
      },
    });
    this.offsets = new OffsetCommitter(consumer, options, (partition) => this.subscription.owns(partition));
    this.fetcher = new MessageFetcher(consumer, options, {
      batchFetched: (batch) => this.offsets.batchFetched(batch),
      groupJoined: (partitions) => this.subscription.assign(partitions),
    });
  }

  static async create(options: KafkaSourceOptions): Promise<KafkaSource> {
    let self: KafkaSource | undefined;
    const consumer = kafkaClient(options).consumer({
      // Sticky first; round-robin while members of an older version are in the group.
      partitionAssigners: [stickyAssigner(() => ({ [options.topic]: self ? self.subscription.partitions : [] })), kafkajs.PartitionAssigners.roundRobin],
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxBytes: options.fetchMaxBytes || Math.max(options.maxBytesPerPartition * 4, 10 * 1024 * 1024),
      sessionTimeout: options.sessionTimeoutMs,
      // kafkajs sleeps maxWaitTime whenever all partitions are paused: with its 5 s default,
      // every backpressure pause would stall the agent for up to 5 s after resume().
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 100,
      retry: kafkaRetry(options),
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    } catch (cause) {
      await consumer.disconnect().catch(() => {});
      throw kafkaError(`consuming ${options.topic} from ${options.brokers.join(',')}`, cause);
    }
    const source = new KafkaSource(consumer, options);
    self = source;
    source.fetcher.watch();
    return source;
  }

  get description(): string {
    return `consuming ${this.options.topic} from ${this.options.brokers.join(',')} as group ${this.options.groupId}`;
  }

  get groupId(): string {
    return this.options.groupId;
  }

  get topic(): string {
    return this.options.topic;
  }

  messages(): AsyncIterable<SourceMessage> {
    return this.fetcher.messages();
  }

  ack(messages: readonly SourceMessage[]): Promise<void> {
    return this.offsets.ack(messages);
  }

  committable(messages: readonly SourceMessage[]): Array<{ partition: number; offset: string }> {
    return this.offsets.committable(messages);
  }

  committed(offsets: ReadonlyArray<{ partition: number; offset: string }>): void {
    this.offsets.committed(offsets);
  }

  lag(): ReadonlyMap<number, number> {
    return this.offsets.lag();
  }

  health(staleMs: number): SourceHealth {
    return this.fetcher.health(staleMs, this.subscription.partitions);
  }

  onRevoked(listener: (revoked: RevokedPartitions) => void): void {
    this.subscription.onRevoked(listener);
  }

  onAssigned(listener: (partitions: readonly number[]) => Promise<void>): void {
    this.subscription.onAssigned(listener);
  }

  onCommitFailed(listener: (err: Error) => void): void {
    this.offsets.onCommitFailed(listener);
  }

  pause(): void {
    this.subscription.pause();
  }

  resume(): void {
    this.subscription.resume();
  }

  /** Stops fetching: messages() ends once what was fetched is handed out. */
  stop(): void {
    this.fetcher.stop();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      try {
        await this.offsets.commit();
      } finally {
        await this.consumer.disconnect();
      }
    })();
    return this.closing;
  }

  abort(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      this.offsets.discardPending();
      await this.consumer.disconnect();
    })();
    return this.closing;
  }
}
