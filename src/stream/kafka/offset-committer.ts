/**
 * The offsets side of KafkaSource: which fetched messages the pipeline acknowledged, per
 * partition; committing their contiguous prefix, at once or deferred (commitIntervalMs);
 * and lag, each partition's end against its committed offset. Offsets are kept only for
 * partitions this consumer owns (`owns`), so it never commits over another consumer.
 */
import type { Batch, Consumer } from 'kafkajs';
import type { SourceMessage } from '../../contracts/stream.js';
import { kafkaError } from './errors.js';
import { PartitionOffsets } from './partition-offsets.js';

/** The source options the offsets read. */
export interface CommitOptions {
  readonly topic: string;
  readonly commitIntervalMs?: number;
}

export class OffsetCommitter {
  private readonly partitions = new Map<number, PartitionOffsets>();
  /** Each partition's end (high watermark) at the last fetch, and its committed offset. */
  private readonly ends = new Map<number, bigint>();
  private readonly commits = new Map<number, bigint>();
  /** Offsets acknowledged but not yet committed: partition → next offset. */
  private readonly uncommitted = new Map<number, string>();
  private lastCommit = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly commitFailedListeners: Array<(err: Error) => void> = [];

  constructor(
    private readonly consumer: Consumer,
    private readonly options: CommitOptions,
    /** Whether the partition is (still) assigned to this consumer. */
    private readonly owns: (partition: number) => boolean,
  ) {}

  /** A fetched batch: records the partition's end; returns its offsets, to be told of each message handed out. */
  batchFetched(batch: Batch): PartitionOffsets {
    const offsets = this.offsetsOf(batch.partition);
    this.ends.set(batch.partition, BigInt(batch.highWatermark));
    // Until this consumer commits, the partition's committed offset is where fetching began.
    if (!this.commits.has(batch.partition) && batch.messages.length > 0) this.commits.set(batch.partition, BigInt(batch.firstOffset()!));
    return offsets;
  }

  /**
   * Forgets partitions another consumer now owns: acknowledgements for them are no longer
   * committed here (nor is what was pending), and they have no lag here.
   */
  forget(revoked: readonly number[]): void {
    for (const p of revoked) {
      this.partitions.delete(p);
      this.ends.delete(p);
      this.commits.delete(p);
      this.uncommitted.delete(p);
    }
  }

  onCommitFailed(listener: (err: Error) => void): void {
    this.commitFailedListeners.push(listener);
  }

  private offsetsOf(partition: number): PartitionOffsets {
    let p = this.partitions.get(partition);
    if (!p) {
      p = new PartitionOffsets();
      this.partitions.set(partition, p);
    }
    return p;
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
  async commit(): Promise<void> {
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

  /**
   * Drops what is acknowledged but not committed, and the deferred commit (aborting). The
   * cleared timer's handle stays set: a later ack() defers no commit (one due at once still commits).
   */
  discardPending(): void {
    clearTimeout(this.commitTimer);
    this.uncommitted.clear();
  }

  committable(messages: readonly SourceMessage[]): Array<{ partition: number; offset: string }> {
    const touched = new Set<number>();
    for (const m of messages) {
      const partition = m.origin.partition!;
      if (!this.owns(partition)) continue; // revoked meanwhile: its new owner commits it
      this.offsetsOf(partition).ack(BigInt(m.origin.offset!));
      touched.add(partition);
    }
    return [...touched].flatMap((partition) => {
      const next = this.offsetsOf(partition).advance();
      return next === undefined ? [] : [{ partition, offset: next.toString() }];
    });
  }

  committed(offsets: ReadonlyArray<{ partition: number; offset: string }>): void {
    for (const c of offsets) if (this.owns(c.partition)) this.commits.set(c.partition, BigInt(c.offset));
  }

  lag(): ReadonlyMap<number, number> {
    const lag = new Map<number, number>();
    for (const [partition, end] of this.ends) {
      const committed = this.commits.get(partition);
      if (committed !== undefined) lag.set(partition, Math.max(0, Number(end - committed)));
    }
    return lag;
  }
}
