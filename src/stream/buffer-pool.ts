/**
 * Reused Float32Arrays of one length. At camera size a frame's tensor is 602 KB and a
 * batch's 32 times that; allocating them per frame made V8's garbage collector the largest
 * single cost of the agent's main thread (docs/BENCHMARKS.md, "The agent's own CPU").
 *
 * Ownership: take() hands an array to one holder; give() hands it back once nothing reads
 * or writes it any more. An array whose buffer was transferred to another thread is
 * detached (length 0) and is not taken back; the pool allocates a new one next time.
 */
export class BufferPool {
  private readonly free: Float32Array[] = [];
  /** Arrays allocated by take() over the pool's life (a bench and test figure). */
  allocated = 0;

  /**
   * @param length elements of each array
   * @param maxFree arrays kept for reuse; more given back are dropped (bounds the memory a
   *   burst leaves behind)
   */
  constructor(
    readonly length: number,
    private readonly maxFree: number,
  ) {
    if (!(Number.isInteger(length) && length > 0 && Number.isInteger(maxFree) && maxFree >= 0)) {
      throw new RangeError(`a buffer pool needs a positive whole length and maxFree ≥ 0; got length ${length}, maxFree ${maxFree}`);
    }
  }

  /** An array of `length` elements; its contents are whatever its last holder left. */
  take(): Float32Array {
    const reused = this.free.pop();
    if (reused) return reused;
    this.allocated++;
    return new Float32Array(this.length);
  }

  /** Takes an array back for reuse; a detached or foreign-sized one is ignored. */
  give(array: Float32Array | undefined): void {
    if (!array || array.length !== this.length || array.byteOffset !== 0 || array.buffer.byteLength !== this.length * 4) return;
    if (this.free.length < this.maxFree && !this.free.includes(array)) this.free.push(array);
  }

  /** Arrays waiting to be reused. */
  get idle(): number {
    return this.free.length;
  }
}
