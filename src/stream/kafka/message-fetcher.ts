/**
 * The fetching side of KafkaSource: the kafkajs consumer's run loop turns each fetched
 * message into a SourceMessage on a queue that messages() drains, and the consumer's events
 * tell whether the brokers still answer (health). What was acknowledged and committed is
 * offset-committer.ts's; which partitions are owned is partition-subscription.ts's.
 */
import type { Batch, Consumer, KafkaMessage } from 'kafkajs';
import type { GaiaError } from '../../errors.js';
import type { SourceHealth, SourceMessage } from '../../contracts/stream.js';
import { boundedId, plausibleTs, sourceIdOfKey } from '../../contracts/source-id.js';
import { kafkaError } from './errors.js';
import type { PartitionOffsets } from './partition-offsets.js';

export function headerText(message: KafkaMessage, name: string): string | undefined {
  const h = message.headers?.[name];
  const one = Array.isArray(h) ? h[0] : h;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** Stand-in source id of messages without a key (the dead letter keeps the null key). */
export const UNKEYED = 'unkeyed';

/** A record key's source id: a null or empty key is `unkeyed`; distinct bytes give distinct ids (sourceIdOfKey). */
export function sourceIdOf(key: Buffer | null): string {
  return key && key.length > 0 ? sourceIdOfKey(key) : UNKEYED;
}

function toSourceMessage(topic: string, partition: number, message: KafkaMessage): SourceMessage {
  const headers: Record<string, string | undefined> = {};
  for (const name of Object.keys(message.headers ?? {})) headers[name] = headerText(message, name);
  // Capture time: the ts header, else the record's own timestamp (the producer's clock, or the
  // broker's): either way a redelivery carries the same one.
  const header = Number(headers.ts);
  const stamp = Number(message.timestamp);
  const ts = headers.ts && plausibleTs(header) ? header : plausibleTs(stamp) ? stamp : undefined;
  const frameId = headers['frame-id'];
  return {
    source: sourceIdOf(message.key),
    frameId: frameId === undefined ? `${topic}/${partition}/${message.offset}` : boundedId(frameId),
    value: message.value ?? new Uint8Array(0),
    headers,
    ...(ts === undefined ? {} : { ts }),
    origin: { topic, partition, offset: message.offset },
    original: { key: message.key ?? null, headers: message.headers ?? {} },
  };
}

/** What fetching tells the rest of the source. */
export interface FetchHooks {
  /** A batch arrived: returns its partition's offset tracking, told of every message handed out. */
  batchFetched(batch: Batch): PartitionOffsets;
  /** The consumer (re)joined the group, now owning `partitions` of the topic. */
  groupJoined(partitions: Set<number>): void;
}

export class MessageFetcher {
  private readonly queue: SourceMessage[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  /** Last time the brokers answered: a fetch while not paused, or a group heartbeat. */
  private lastContact = 0;
  /** Set while kafkajs restarts a crashed consumer (cleared when it rejoins the group). */
  private restarting: string | undefined;
  /** Set when the consumer crashed and kafkajs gave up on it: only a process restart helps. */
  private dead: GaiaError | undefined;
  private started: Promise<void> | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: { readonly topic: string },
    private readonly hooks: FetchHooks,
  ) {}

  /** Whether stop() was called: nothing more is fetched or resumed. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Consumer events: contact with the brokers, crashes, rebalances. */
  watch(): void {
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
      this.hooks.groupJoined(new Set(e.payload.memberAssignment[this.options.topic] ?? []));
    });
    this.lastContact = Date.now();
  }

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
        const offsets = this.hooks.batchFetched(batch);
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || this.stopped) break;
          offsets.delivered(BigInt(message.offset));
          this.enqueue(toSourceMessage(batch.topic, batch.partition, message));
          // Moves the fetch position only; what is committed is decided by ack().
          resolveOffset(message.offset);
        }
        await heartbeat();
      },
    });
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

  /** Drops frames of revoked partitions fetched but not handed out (the new owner fetches them again from the committed offset). */
  dropQueued(revoked: readonly number[]): void {
    const gone = new Set(revoked);
    const kept = this.queue.filter((m) => !gone.has(m.origin.partition!));
    this.queue.splice(0, this.queue.length, ...kept);
  }

  /** Ready: the brokers answered a fetch or a heartbeat at most `staleMs` ago, and the consumer is not restarting. */
  health(staleMs: number, assigned: Iterable<number>): SourceHealth {
    const ago = Date.now() - this.lastContact;
    return {
      ready: !this.restarting && !this.dead && !this.stopped && ago <= staleMs,
      live: !this.dead,
      detail: {
        lastFetchAgoMs: ago,
        partitions: [...assigned].sort((a, b) => a - b),
        ...(this.restarting ? { restarting: this.restarting } : {}),
        ...(this.dead ? { crashed: this.dead.message } : {}),
      },
    };
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
}
