/** The pipeline's reused tensors: arrays come back for reuse, detached or foreign ones do not. */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/stream/buffer-pool.js';

describe('BufferPool', () => {
  it('reuses an array given back instead of allocating another', () => {
    const pool = new BufferPool(6, 2);
    const a = pool.take();
    a.fill(7);
    pool.give(a);
    const b = pool.take();
    expect(b).toBe(a);
    expect(pool.allocated).toBe(1);
    expect(pool.take()).not.toBe(a);
    expect(pool.allocated).toBe(2);
  });

  it('keeps at most maxFree arrays, and never the same one twice', () => {
    const pool = new BufferPool(4, 2);
    const arrays = [pool.take(), pool.take(), pool.take()];
    for (const a of arrays) pool.give(a);
    pool.give(arrays[0]);
    expect(pool.idle).toBe(2);
  });

  it('ignores an array transferred to another thread (detached), a view, or one of another length', () => {
    const pool = new BufferPool(4, 4);
    const moved = pool.take();
    structuredClone(moved.buffer, { transfer: [moved.buffer as ArrayBuffer] });
    expect(moved.byteLength).toBe(0);
    pool.give(moved);
    pool.give(new Float32Array(8).subarray(0, 4));
    pool.give(new Float32Array(5));
    pool.give(undefined);
    expect(pool.idle).toBe(0);
  });

  it('refuses a length or maxFree that is not a whole number in range, naming both', () => {
    expect(() => new BufferPool(0, 1)).toThrow(/positive whole length and maxFree ≥ 0; got length 0, maxFree 1/);
    expect(() => new BufferPool(3, -1)).toThrow(/got length 3, maxFree -1/);
  });
});
