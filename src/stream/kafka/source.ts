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
import type { Consumer, KafkaMessage } from 'kafkajs';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { FrameSource, OffsetLedger, RevokedPartitions, SourceHealth, SourceMessage } from '../../contracts/stream.js';
import { kafkaClient, kafkaRetry, type KafkaConnection } from './client.js';
import { kafkaError } from './errors.js';
import { PartitionOffsets } from './partition-offsets.js';
import { boundedId, plausibleTs } from '../../contracts/source-id.js';
import { stickyAssigner } from './sticky-assigner.js';

export type { KafkaConnection } from './client.js';

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

export function headerText(message: KafkaMessage, name: string): string | undefined {
  const h = message.headers?.[name];
  const one = Array.isArray(h) ? h[0] : h;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** Stand-in source id of messages without a key (the dead letter keeps the null key). */
export const UNKEYED = 'unkeyed';

export class KafkaSource implements FrameSource, OffsetLedger {
  private readonly queue: SourceMessage[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly partitions = new Map<number, PartitionOffsets>();
  /** Last time the brokers answered: a fetch while not paused, or a group heartbeat. */
  private lastContact = 0;
  /** Each partition's end (high watermark) at the last fetch, and its committed offset. */
  private readonly ends = new Map<number, bigint>();
  private readonly commits = new Map<number, bigint>();
  /** Set while kafkajs restarts a crashed consumer (cleared when it rejoins the group). */
  private restarting: string | undefined;
  /** Set when the consumer crashed and kafkajs gave up on it: only a process restart helps. */
  private dead: GaiaError | undefined;
  /** Partitions assigned to this consumer by the last rebalance, in the order it came to own them (the sticky assigner reads it). */
  private assigned = new Set<number>();
  private readonly revokedListeners: Array<(revoked: RevokedPartitions) => void> = [];
  private readonly assignedListeners: Array<(partitions: readonly number[]) => Promise<void>> = [];
  private readonly commitFailedListeners: Array<(err: Error) => void> = [];
  /** Newly assigned partitions held back while their state is restored. */
  private readonly restoring = new Set<number>();
  /** Paused by the pipeline (backpressure). */
  private backpressured = false;
  /** Offsets acknowledged but not yet committed: partition → next offset. */
  private readonly uncommitted = new Map<number, string>();
  private lastCommit = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly consumer: Consumer,
    private readonly options: KafkaSourceOptions,
  ) {}

  static async create(options: KafkaSourceOptions): Promise<KafkaSource> {
    let self: KafkaSource | undefined;
    const consumer = kafkaClient(options).consumer({
      // Sticky first; round-robin while members of an older version are in the group.
      partitionAssigners: [stickyAssigner(() => ({ [options.topic]: self ? [...self.assigned] : [] })), kafkajs.PartitionAssigners.roundRobin],
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxBytes: Math.max(options.maxBytesPerPartition * 4, 10 * 1024 * 1024),
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
    source.watch();
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

  /** Consumer events: contact with the brokers, crashes, rebalances. */
  private watch(): void {
    // While every partition is paused kafkajs reports "fetches" that never reach a broker,
    // so only real fetches count then; heartbeats go on while paused and need the broker.
    this.consumer.on(this.consumer.events.FETCH, () => {
      if (this.consumer.paused().length === 0) this.lastContact = Date.now();
    });
    this.consumer.on(this.consumer.events.HEARTBEAT, () => {
      this.lastContact = Date.now();
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      const message = e.payload.error.message;
      if (e.payload.restart) {
        // kafkajs reconnects and rejoins by itself: not ready meanwhile, ready again once it has.
        this.restarting = message;
        return;
      }
      // Nothing restarts this consumer: end the stream with the error (the agent exits
      // non-zero, its supervisor restarts it) rather than live on scoring nothing.
      this.dead = kafkaError(`consuming ${this.options.topic} (the consumer crashed and kafkajs does not restart it)`, e.payload.error);
      this.wake?.();
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.restarting = undefined;
      this.lastContact = Date.now();
      this.assign(new Set(e.payload.memberAssignment[this.options.topic] ?? []));
    });
    this.lastContact = Date.now();
  }

  private started: Promise<void> | undefined;

  /**
   * Joins the group and starts fetching, on the first messages() call: listeners registered
   * before (onAssigned, onRevoked) see the very first assignment.
   */
  private start(): Promise<void> {
    this.started ??= this.runConsumer();
    return this.started;
  }

  private async runConsumer(): Promise<void> {
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
        const offsets = this.offsetsOf(batch.partition);
        this.ends.set(batch.partition, BigInt(batch.highWatermark));
        // Until this consumer commits, the partition's committed offset is where fetching began.
        if (!this.commits.has(batch.partition) && batch.messages.length > 0) this.commits.set(batch.partition, BigInt(batch.firstOffset()!));
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
   * per-source state the agent keeps.
   */
  private assign(partitions: Set<number>): void {
    const revoked = [...this.assigned].filter((p) => !partitions.has(p));
    const added = [...partitions].filter((p) => !this.assigned.has(p));
    this.assigned = new Set([...[...this.assigned].filter((p) => partitions.has(p)), ...added]);
    for (const p of revoked) this.restoring.delete(p);
    if (added.length > 0 && this.assignedListeners.length > 0) this.hold(added);
    if (revoked.length === 0) return;
    const gone = new Set(revoked);
    for (const p of revoked) {
      this.partitions.delete(p);
      this.ends.delete(p);
      this.commits.delete(p);
      this.uncommitted.delete(p);
    }
    const kept = this.queue.filter((m) => !gone.has(m.origin.partition!));
    this.queue.splice(0, this.queue.length, ...kept);
    for (const listener of this.revokedListeners) listener({ partitions: revoked });
  }

  onRevoked(listener: (revoked: RevokedPartitions) => void): void {
    this.revokedListeners.push(listener);
  }

  onAssigned(listener: (partitions: readonly number[]) => Promise<void>): void {
    this.assignedListeners.push(listener);
  }

  onCommitFailed(listener: (err: Error) => void): void {
    this.commitFailedListeners.push(listener);
  }

  /** Pauses new partitions until the assigned-listeners are done with them (state restored). */
  private hold(partitions: number[]): void {
    for (const p of partitions) this.restoring.add(p);
    this.consumer.pause([{ topic: this.options.topic, partitions }]);
    void Promise.allSettled(this.assignedListeners.map((l) => l(partitions))).then(() => {
      const still = partitions.filter((p) => this.restoring.delete(p) && this.assigned.has(p));
      if (still.length > 0 && !this.backpressured && !this.stopped) this.consumer.resume([{ topic: this.options.topic, partitions: still }]);
    });
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
    const frameId = headers['frame-id'];
    return {
      source: message.key ? boundedId(message.key.toString('utf8')) : UNKEYED,
      frameId: frameId === undefined ? `${topic}/${partition}/${message.offset}` : boundedId(frameId),
      value: message.value ?? new Uint8Array(0),
      headers,
      ...(headers.ts && plausibleTs(ts) ? { ts } : {}),
      origin: { topic, partition, offset: message.offset },
      original: { key: message.key ?? null, headers: message.headers ?? {} },
    };
  }

  private enqueue(message: SourceMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  async *messages(): AsyncIterable<SourceMessage> {
    if (!this.stopped) await this.start();
    for (;;) {
      if (this.dead) throw this.dead;
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.stopped) return;
      if (this.dead) throw this.dead;
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
    const commits = [...this.uncommitted].map(([partition, offset]) => ({ partition, offset }));
    this.uncommitted.clear();
    this.lastCommit = Date.now();
    try {
      await this.consumer.commitOffsets(commits.map((c) => ({ topic: this.options.topic, ...c })));
    } catch (err) {
      for (const c of commits) if (!this.uncommitted.has(c.partition)) this.uncommitted.set(c.partition, c.offset);
      const failure = kafkaError(`committing offsets of ${this.options.topic}`, err);
      // A deferred commit's failure has no caller to reject: listeners are its only trace.
      for (const listener of this.commitFailedListeners) listener(failure);
      throw failure;
    }
    this.committed(commits);
  }

  committable(messages: readonly SourceMessage[]): Array<{ partition: number; offset: string }> {
    const touched = new Set<number>();
    for (const m of messages) {
      const partition = m.origin.partition!;
      if (!this.assigned.has(partition)) continue; // revoked meanwhile: its new owner commits it
      this.offsetsOf(partition).ack(BigInt(m.origin.offset!));
      touched.add(partition);
    }
    return [...touched].flatMap((partition) => {
      const next = this.offsetsOf(partition).advance();
      return next === undefined ? [] : [{ partition, offset: next.toString() }];
    });
  }

  committed(offsets: ReadonlyArray<{ partition: number; offset: string }>): void {
    for (const c of offsets) if (this.assigned.has(c.partition)) this.commits.set(c.partition, BigInt(c.offset));
  }

  lag(): ReadonlyMap<number, number> {
    const lag = new Map<number, number>();
    for (const [partition, end] of this.ends) {
      const committed = this.commits.get(partition);
      if (committed !== undefined) lag.set(partition, Math.max(0, Number(end - committed)));
    }
    return lag;
  }

  /** Ready: the brokers answered a fetch or a heartbeat at most `staleMs` ago, and the consumer is not restarting. */
  health(staleMs: number): SourceHealth {
    const ago = Date.now() - this.lastContact;
    return {
      ready: !this.restarting && !this.dead && !this.stopped && ago <= staleMs,
      live: !this.dead,
      detail: {
        lastFetchAgoMs: ago,
        partitions: [...this.assigned].sort((a, b) => a - b),
        ...(this.restarting ? { restarting: this.restarting } : {}),
        ...(this.dead ? { crashed: this.dead.message } : {}),
      },
    };
  }

  pause(): void {
    this.backpressured = true;
    this.consumer.pause([{ topic: this.options.topic }]);
  }

  resume(): void {
    this.backpressured = false;
    if (this.stopped) return;
    this.consumer.resume([{ topic: this.options.topic }]);
    // Partitions whose state is still being restored stay held back.
    if (this.restoring.size > 0) this.consumer.pause([{ topic: this.options.topic, partitions: [...this.restoring] }]);
  }

  /** Stops fetching: messages() ends once what was fetched is handed out. */
  stop(): void {
    this.stopped = true;
    try {
      this.consumer.pause([{ topic: this.options.topic }]);
    } catch {
      // Not running (any more): nothing to pause.
    }
    this.wake?.();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      try {
        await this.commit();
      } finally {
        await this.consumer.disconnect();
      }
    })();
    return this.closing;
  }

  abort(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      clearTimeout(this.commitTimer);
      this.uncommitted.clear();
      await this.consumer.disconnect();
    })();
    return this.closing;
  }
}
