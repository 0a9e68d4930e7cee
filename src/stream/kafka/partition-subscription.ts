/**
 * The subscription side of KafkaSource: which partitions of the topic this consumer owns
 * (in the order it came to own them, for the sticky assigner), what a rebalance moved, and
 * which partitions are paused: all of them under backpressure, new ones while the
 * assigned-listeners restore their state.
 */
import type { Consumer } from 'kafkajs';
import type { RevokedPartitions } from '../../contracts/stream.js';

/** What the subscription needs from the rest of the source. */
export interface SubscriptionHooks {
  /** Whether the source stopped fetching (held partitions are not resumed then). */
  isStopped(): boolean;
  /** Drops what the source keeps for partitions another consumer now owns, before the revoked-listeners hear of them. */
  release(revoked: readonly number[]): void;
}

export class PartitionSubscription {
  /** Partitions assigned to this consumer by the last rebalance, in the order it came to own them (the sticky assigner reads it). */
  private assigned = new Set<number>();
  private readonly revokedListeners: Array<(revoked: RevokedPartitions) => void> = [];
  private readonly assignedListeners: Array<(partitions: readonly number[]) => Promise<void>> = [];
  /** Newly assigned partitions held back while their state is restored. */
  private readonly restoring = new Set<number>();
  /** Paused by the pipeline (backpressure). */
  private backpressured = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: { readonly topic: string },
    private readonly hooks: SubscriptionHooks,
  ) {}

  /** The owned partitions, in the order this consumer came to own them. */
  get partitions(): number[] {
    return [...this.assigned];
  }

  owns(partition: number): boolean {
    return this.assigned.has(partition);
  }

  /**
   * A rebalance gave this consumer `partitions`. Whatever belonged to the ones it lost goes:
   * frames fetched but not handed out (the new owner fetches them again from the committed
   * offset), offset tracking (acknowledgements for them are no longer committed here, so
   * this consumer never commits over the new owner), lag, and, through the listeners, the
   * per-source state the agent keeps.
   */
  assign(partitions: Set<number>): void {
    const revoked = [...this.assigned].filter((p) => !partitions.has(p));
    const added = [...partitions].filter((p) => !this.assigned.has(p));
    this.assigned = new Set([...[...this.assigned].filter((p) => partitions.has(p)), ...added]);
    for (const p of revoked) this.restoring.delete(p);
    if (added.length > 0 && this.assignedListeners.length > 0) this.hold(added);
    if (revoked.length === 0) return;
    this.hooks.release(revoked);
    for (const listener of this.revokedListeners) listener({ partitions: revoked });
  }

  onRevoked(listener: (revoked: RevokedPartitions) => void): void {
    this.revokedListeners.push(listener);
  }

  onAssigned(listener: (partitions: readonly number[]) => Promise<void>): void {
    this.assignedListeners.push(listener);
  }

  /** Pauses new partitions until the assigned-listeners are done with them (state restored). */
  private hold(partitions: number[]): void {
    for (const p of partitions) this.restoring.add(p);
    this.consumer.pause([{ topic: this.options.topic, partitions }]);
    void Promise.allSettled(this.assignedListeners.map((l) => l(partitions))).then(() => {
      const still = partitions.filter((p) => this.restoring.delete(p) && this.assigned.has(p));
      if (still.length > 0 && !this.backpressured && !this.hooks.isStopped()) this.consumer.resume([{ topic: this.options.topic, partitions: still }]);
    });
  }

  pause(): void {
    this.backpressured = true;
    this.consumer.pause([{ topic: this.options.topic }]);
  }

  resume(): void {
    this.backpressured = false;
    if (this.hooks.isStopped()) return;
    this.consumer.resume([{ topic: this.options.topic }]);
    // Partitions whose state is still being restored stay held back.
    if (this.restoring.size > 0) this.consumer.pause([{ topic: this.options.topic, partitions: [...this.restoring] }]);
  }
}
