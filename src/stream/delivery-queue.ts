/**
 * Hands scored batches' outputs to the brokers one delivery at a time, in order, and merges
 * the batches that arrive while a delivery is in flight into the next one, as a Kafka
 * producer batches records under load. At-least-once: one produce request (and one offset
 * commit) for several batches; exactly-once: one transaction for several batches, where a
 * transaction per batch of 8 cost the broker ~3 ms of CPU per frame (docs/BENCHMARKS.md).
 * When idle, a batch goes at once, so merging adds no latency; under load it trades the
 * number of round trips for size. `minIntervalMs` also spaces deliveries out (the first
 * batch after a quiet spell still goes at once): exactly-once uses it as its transaction
 * interval, as Kafka Streams commits a transaction every 100 ms rather than per record batch.
 *
 * It also owns the backpressure between scoring and the brokers: offer() returns only once
 * the frames scored but not yet delivered are few enough, which bounds memory when the
 * brokers are slow and leaves room to merge batches into one delivery.
 */
import type { BatchOutputs, SourceMessage } from '../contracts/stream.js';

export type Deliver = (outputs: BatchOutputs, messages: readonly SourceMessage[]) => Promise<void>;

interface Waiting {
  readonly outputs: BatchOutputs;
  readonly messages: readonly SourceMessage[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export interface Backpressure {
  /** offer() waits while more frames than this are scored but not delivered. */
  readonly maxPendingFrames: number;
  /** Each failed offered batch, with its error (offer() itself does not throw it). */
  readonly onFailure?: (err: unknown) => void;
}

export class DeliveryQueue {
  private waiting: Waiting[] = [];
  private active = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private failed: { err: unknown } | undefined;
  /** Deliveries made so far, and the batches they carried (for tests and logs). */
  deliveries = 0;
  batches = 0;
  /** Offered batches, oldest first, with their frame counts, until offer() has waited for them. */
  private offered: Array<{ readonly delivered: Promise<void>; readonly frames: number }> = [];
  private offeredFrames = 0;
  /** Frames offered whose delivery has not settled (the queue gauge; offeredFrames lags behind it). */
  private unsettled = 0;

  constructor(
    private readonly deliver: Deliver,
    private readonly minIntervalMs = 0,
    private readonly backpressure: Backpressure = { maxPendingFrames: Number.POSITIVE_INFINITY },
  ) {}

  /** Frames handed in whose delivery has not settled yet. */
  get pendingFrames(): number {
    return this.unsettled;
  }

  /**
   * Queues a batch's outputs and returns once the frames awaiting delivery are at most
   * maxPendingFrames (waiting for the oldest deliveries first). A failure goes to onFailure.
   */
  async offer(outputs: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    this.unsettled += messages.length;
    const delivered = this.push(outputs, messages)
      .catch((err: unknown) => this.backpressure.onFailure?.(err))
      .finally(() => (this.unsettled -= messages.length));
    this.offered.push({ delivered, frames: messages.length });
    this.offeredFrames += messages.length;
    while (this.offeredFrames > this.backpressure.maxPendingFrames) {
      const oldest = this.offered.shift()!;
      await oldest.delivered;
      this.offeredFrames -= oldest.frames;
    }
  }

  /** Settles once every offered batch is delivered or failed. */
  async drain(): Promise<void> {
    await Promise.all(this.offered.map((o) => o.delivered));
  }

  /**
   * Queues a batch's outputs; resolves once they are delivered (with the batches merged into
   * the same delivery). After a failed delivery every batch queued or pushed later is
   * rejected with the same error: nothing is acknowledged past a failure.
   */
  push(outputs: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed.err);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ outputs, messages, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.active || this.timer || this.waiting.length === 0) return;
    const wait = this.lastStart + this.minIntervalMs - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.next();
      }, wait);
      return;
    }
    this.lastStart = performance.now();
    const group = this.waiting;
    this.waiting = [];
    this.active = true;
    this.deliveries++;
    this.batches += group.length;
    const merged: BatchOutputs =
      group.length === 1
        ? group[0]!.outputs
        : {
            events: group.flatMap((g) => g.outputs.events),
            records: group.flatMap((g) => g.outputs.records),
            letters: group.flatMap((g) => g.outputs.letters),
            states: group.flatMap((g) => g.outputs.states ?? []),
          };
    const messages = group.length === 1 ? group[0]!.messages : group.flatMap((g) => g.messages);
    this.deliver(merged, messages).then(
      () => {
        for (const g of group) g.resolve();
        this.active = false;
        this.next();
      },
      (err: unknown) => {
        this.failed = { err };
        for (const g of [...group, ...this.waiting]) g.reject(err);
        this.waiting = [];
        this.active = false;
      },
    );
  }
}
