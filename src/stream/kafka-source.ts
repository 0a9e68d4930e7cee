/**
 * Frames from Kafka (kafkajs consumer group), as a MessageSource. Offsets are committed
 * only for messages the pipeline has acknowledged (their outputs were accepted by the
 * brokers), and only as a contiguous prefix per partition, so a crash redelivers every
 * frame whose outputs might be missing: at-least-once. The kafkajs pitfalls this design
 * follows: manual resolution (eachBatchAutoResolve false, autoCommit off, explicit
 * commitOffsets), maxBytesPerPartition above the largest frame, isRunning()/isStale()
 * checked inside the batch loop, and pause/resume for backpressure.
 */
import type { Consumer, KafkaMessage } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { MessageSource, SourceMessage } from './pipeline.js';

import { KAFKA_RETRY, kafkaClient, type KafkaConnection } from './kafka-client.js';

export type { KafkaConnection } from './kafka-client.js';

export interface KafkaSourceOptions extends KafkaConnection {
  readonly groupId: string;
  readonly topic: string;
  /** Largest frame accepted from a partition in one fetch (must exceed the largest frame). */
  readonly maxBytesPerPartition: number;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  /** Broker-side fetch wait; kafkajs also sleeps this long while every partition is paused (default 100). */
  readonly fetchMaxWaitMs?: number;
  /**
   * Acknowledged offsets are committed at most this often (ms; 0 = after every batch). Each
   * commit is a request the broker writes to its offsets log; a crash redelivers at most
   * this much more (at-least-once either way). Stopping commits what is pending.
   */
  readonly commitIntervalMs?: number;
}

/** Offsets of one partition: delivered in order, committed up to the first unacknowledged. */
class PartitionOffsets {
  private readonly pending: bigint[] = [];
  private readonly acked = new Set<bigint>();

  delivered(offset: bigint): void {
    this.pending.push(offset);
  }

  ack(offset: bigint): void {
    this.acked.add(offset);
  }

  /** The next offset to commit, if the acknowledged prefix grew. */
  advance(): bigint | undefined {
    let next: bigint | undefined;
    while (this.pending.length > 0 && this.acked.has(this.pending[0]!)) {
      const o = this.pending.shift()!;
      this.acked.delete(o);
      next = o + 1n;
    }
    return next;
  }
}

/** Partitions another consumer of the group now owns, and the sources seen on them. */
export interface RevokedPartitions {
  readonly partitions: readonly number[];
  readonly sources: readonly string[];
}

export function headerText(message: KafkaMessage, name: string): string | undefined {
  const h = message.headers?.[name];
  const one = Array.isArray(h) ? h[0] : h;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

export class KafkaSource implements MessageSource {
  private readonly queue: SourceMessage[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly partitions = new Map<number, PartitionOffsets>();
  /** Last time the brokers answered: a fetch while not paused, or a group heartbeat. */
  private lastContact = 0;
  /** Messages behind the partition's high watermark after the last fetched batch. */
  readonly lag = new Map<number, number>();
  private crashed: string | undefined;
  /** Partitions assigned to this consumer by the last rebalance. */
  private assigned = new Set<number>();
  /** The sources (message keys) seen on each partition: their state moves with it. */
  private readonly sourcesOf = new Map<number, Set<string>>();
  private readonly revokedListeners: Array<(revoked: RevokedPartitions) => void> = [];
  /** Offsets acknowledged but not yet committed: partition → next offset. */
  private readonly uncommitted = new Map<number, string>();
  private lastCommit = 0;
  private commitTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly consumer: Consumer,
    private readonly options: KafkaSourceOptions,
  ) {}

  static async create(options: KafkaSourceOptions): Promise<KafkaSource> {
    const consumer = kafkaClient(options).consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxBytes: Math.max(options.maxBytesPerPartition * 4, 10 * 1024 * 1024),
      sessionTimeout: options.sessionTimeoutMs,
      // kafkajs sleeps maxWaitTime whenever all partitions are paused: with its 5 s default,
      // every backpressure pause would stall the agent for up to 5 s after resume().
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 100,
      retry: KAFKA_RETRY,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    } catch (cause) {
      await consumer.disconnect().catch(() => {});
      throw new GaiaError(ErrorCodes.RUNTIME, `cannot consume ${options.topic} from ${options.brokers.join(',')}: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
    }
    const source = new KafkaSource(consumer, options);
    await source.start();
    return source;
  }

  private async start(): Promise<void> {
    // While every partition is paused kafkajs reports "fetches" that never reach a broker,
    // so only real fetches count then; heartbeats go on while paused and need the broker.
    this.consumer.on(this.consumer.events.FETCH, () => {
      if (this.consumer.paused().length === 0) this.lastContact = Date.now();
    });
    this.consumer.on(this.consumer.events.HEARTBEAT, () => {
      this.lastContact = Date.now();
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.crashed = e.payload.error.message;
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.assign(new Set(e.payload.memberAssignment[this.options.topic] ?? []));
    });
    this.lastContact = Date.now();
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
        const offsets = this.offsetsOf(batch.partition);
        this.lag.set(batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n)));
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || this.stopped) break;
          offsets.delivered(BigInt(message.offset));
          this.enqueue(this.toMessage(batch.topic, batch.partition, message));
          // Moves the fetch position only; what is committed is decided by ack().
          resolveOffset(message.offset);
        }
        await heartbeat();
      },
    });
  }

  /**
   * A rebalance gave this consumer `partitions`. Whatever belonged to the ones it lost goes:
   * frames fetched but not handed out (the new owner fetches them again from the committed
   * offset), offset tracking (acknowledgements for them are no longer committed here, so
   * this consumer never commits over the new owner), lag, and, through the listeners, the
   * per-source state the pipeline keeps (drift windows live with the partition owner).
   */
  private assign(partitions: Set<number>): void {
    const revoked = [...this.assigned].filter((p) => !partitions.has(p));
    this.assigned = partitions;
    if (revoked.length === 0) return;
    const gone = new Set(revoked);
    const sources = revoked.flatMap((p) => [...(this.sourcesOf.get(p) ?? [])]);
    for (const p of revoked) {
      this.partitions.delete(p);
      this.lag.delete(p);
      this.sourcesOf.delete(p);
      this.uncommitted.delete(p);
    }
    const kept = this.queue.filter((m) => !gone.has(m.origin.partition!));
    this.queue.splice(0, this.queue.length, ...kept);
    for (const listener of this.revokedListeners) listener({ partitions: revoked, sources });
  }

  /** Called after each rebalance that took partitions away from this consumer. */
  onRevoked(listener: (revoked: RevokedPartitions) => void): void {
    this.revokedListeners.push(listener);
  }

  private offsetsOf(partition: number): PartitionOffsets {
    let p = this.partitions.get(partition);
    if (!p) {
      p = new PartitionOffsets();
      this.partitions.set(partition, p);
    }
    return p;
  }

  private toMessage(topic: string, partition: number, message: KafkaMessage): SourceMessage {
    const headers: Record<string, string | undefined> = {};
    for (const name of Object.keys(message.headers ?? {})) headers[name] = headerText(message, name);
    const ts = Number(headers.ts);
    const source = message.key?.toString('utf8') ?? 'unkeyed';
    let seen = this.sourcesOf.get(partition);
    if (!seen) this.sourcesOf.set(partition, (seen = new Set()));
    seen.add(source);
    return {
      source,
      frameId: headers['frame-id'] ?? `${topic}/${partition}/${message.offset}`,
      value: message.value ?? new Uint8Array(0),
      headers,
      ...(Number.isFinite(ts) && headers.ts ? { ts } : {}),
      origin: { topic, partition, offset: message.offset },
    };
  }

  private enqueue(message: SourceMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  async *messages(): AsyncIterable<SourceMessage> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  async ack(messages: readonly SourceMessage[]): Promise<void> {
    for (const c of this.committable(messages)) this.uncommitted.set(c.partition, c.offset);
    const due = this.lastCommit + (this.options.commitIntervalMs ?? 0) - Date.now();
    if (due <= 0) return this.commit();
    // Later, unless another acknowledgement or stopping commits first.
    this.commitTimer ??= setTimeout(() => void this.commit().catch(() => {}), due);
  }

  /**
   * Commits every acknowledged offset not yet committed. A failed commit puts its offsets
   * back (unless newer ones arrived meanwhile) and throws, so the next attempt includes them.
   */
  private async commit(): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    if (this.uncommitted.size === 0) return;
    const commits = [...this.uncommitted].map(([partition, offset]) => ({ topic: this.options.topic, partition, offset }));
    this.uncommitted.clear();
    this.lastCommit = Date.now();
    try {
      await this.consumer.commitOffsets(commits);
    } catch (err) {
      for (const c of commits) if (!this.uncommitted.has(c.partition)) this.uncommitted.set(c.partition, c.offset);
      throw err;
    }
  }

  /**
   * Marks messages as handled and returns the offsets that may now be committed (the next
   * offset after each partition's handled prefix), without committing them: the
   * exactly-once sink commits them inside its transaction instead.
   */
  committable(messages: readonly SourceMessage[]): Array<{ topic: string; partition: number; offset: string }> {
    const touched = new Set<number>();
    for (const m of messages) {
      const partition = m.origin.partition!;
      if (!this.assigned.has(partition)) continue; // revoked meanwhile: its new owner commits it
      this.offsetsOf(partition).ack(BigInt(m.origin.offset!));
      touched.add(partition);
    }
    return [...touched].flatMap((partition) => {
      const next = this.offsetsOf(partition).advance();
      return next === undefined ? [] : [{ topic: this.options.topic, partition, offset: next.toString() }];
    });
  }

  /** Connected: the brokers answered a fetch or a heartbeat at most `staleMs` ago. */
  health(staleMs: number): { ready: boolean; lastFetchAgoMs: number; crashed?: string } {
    const ago = Date.now() - this.lastContact;
    return { ready: !this.crashed && !this.stopped && ago <= staleMs, lastFetchAgoMs: ago, ...(this.crashed ? { crashed: this.crashed } : {}) };
  }

  get groupId(): string {
    return this.options.groupId;
  }

  pause(): void {
    this.consumer.pause([{ topic: this.options.topic }]);
  }

  resume(): void {
    this.consumer.resume([{ topic: this.options.topic }]);
  }

  /** Stops fetching: messages() ends once what was fetched is handed out. */
  stop(): void {
    this.stopped = true;
    this.consumer.pause([{ topic: this.options.topic }]);
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stop();
    try {
      await this.commit();
    } finally {
      await this.consumer.disconnect();
    }
  }
}
