/**
 * Dynamic batching, as Triton does it: a batch is dispatched when it holds `maxBatch`
 * items or its first item has waited `maxWaitMs`, whichever comes first. One batch is
 * processed at a time while the next one fills (decoding overlaps inference). Memory is
 * bounded by explicit backpressure: `onPause` fires when the items held (queued plus in
 * flight) reach `highWaterMark`, `onResume` once they drain to `lowWaterMark`; the source
 * is expected to stop fetching in between.
 */
export interface MicroBatcherOptions<T> {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  /** Processes one batch; the next batch is not dispatched before it settles. */
  readonly process: (batch: T[]) => Promise<void>;
  readonly onPause?: () => void;
  readonly onResume?: () => void;
  /** A rejected process() call: the batch is reported, and batching goes on. */
  readonly onError?: (err: unknown, batch: T[]) => void;
}

export class MicroBatcher<T> {
  private queue: T[] = [];
  /** Arrival time of each queued item (ms, performance.now()). */
  private arrivals: number[] = [];
  private inFlight = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private closed = false;

  constructor(private readonly options: MicroBatcherOptions<T>) {
    const { maxBatch, maxWaitMs, highWaterMark, lowWaterMark } = options;
    if (!(maxBatch >= 1 && maxWaitMs >= 0 && highWaterMark >= maxBatch && lowWaterMark >= 0 && lowWaterMark < highWaterMark)) {
      throw new RangeError(
        `micro-batcher needs maxBatch ≥ 1, maxWaitMs ≥ 0, highWaterMark ≥ maxBatch and 0 ≤ lowWaterMark < highWaterMark; got ${JSON.stringify({ maxBatch, maxWaitMs, highWaterMark, lowWaterMark })}`,
      );
    }
  }

  /** Items held: queued plus being processed. */
  get size(): number {
    return this.queue.length + this.inFlight;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  push(item: T): void {
    if (this.closed) throw new Error('micro-batcher is closed');
    this.queue.push(item);
    this.arrivals.push(performance.now());
    if (!this.paused && this.size >= this.options.highWaterMark) {
      this.paused = true;
      this.options.onPause?.();
    }
    if (this.queue.length >= this.options.maxBatch) this.dispatch();
    else this.armTimer();
  }

  /** Fires when the oldest queued item has waited maxWaitMs. */
  private armTimer(): void {
    if (this.timer || this.queue.length === 0) return;
    const waited = performance.now() - this.arrivals[0]!;
    this.timer = setTimeout(() => this.dispatch(), Math.max(0, this.options.maxWaitMs - waited));
  }

  /** Dispatches what is queued and resolves once every batch has been processed; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.dispatch();
      await this.running;
    }
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.arrivals.splice(0, batch.length);
    this.inFlight = batch.length;
    this.running = this.options
      .process(batch)
      .catch((err) => this.options.onError?.(err, batch))
      .finally(() => {
        this.inFlight = 0;
        this.running = undefined;
        if (this.paused && this.size <= this.options.lowWaterMark) {
          this.paused = false;
          this.options.onResume?.();
        }
        // A full batch waiting goes at once; a partial one keeps its own deadline.
        if (this.queue.length >= this.options.maxBatch) this.dispatch();
        else this.armTimer();
      });
  }
}
