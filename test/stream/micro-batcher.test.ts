/** The micro-batcher: size and age triggers, one batch in flight, bounded memory by backpressure. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MicroBatcher } from '../../src/stream/micro-batcher.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A process() whose calls complete only when the test says so. */
function controlled() {
  const batches: number[][] = [];
  const finish: Array<() => void> = [];
  const process = (batch: number[]) =>
    new Promise<void>((resolve) => {
      batches.push(batch);
      finish.push(resolve);
    });
  return { batches, finish, process };
}

describe('MicroBatcher', () => {
  it('dispatches a full batch at once and a partial one after maxWaitMs', async () => {
    const c = controlled();
    const b = new MicroBatcher({ maxBatch: 4, maxWaitMs: 20, highWaterMark: 16, lowWaterMark: 4, process: c.process });
    for (let i = 0; i < 4; i++) b.push(i);
    expect(c.batches).toEqual([[0, 1, 2, 3]]);
    c.finish[0]!();
    await vi.advanceTimersByTimeAsync(0);
    b.push(4);
    await vi.advanceTimersByTimeAsync(19);
    expect(c.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.batches[1]).toEqual([4]);
  });

  it('keeps one batch in flight while the next fills, then sends it as soon as the first settles', async () => {
    const c = controlled();
    const b = new MicroBatcher({ maxBatch: 2, maxWaitMs: 50, highWaterMark: 8, lowWaterMark: 2, process: c.process });
    [1, 2, 3, 4, 5].forEach((i) => b.push(i));
    expect(c.batches).toEqual([[1, 2]]);
    c.finish[0]!();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches).toEqual([[1, 2], [3, 4]]);
    c.finish[1]!();
    await vi.advanceTimersByTimeAsync(0);
    // The leftover 5 arrived at t=0: its deadline is t=50, not 50 ms after the last dispatch.
    await vi.advanceTimersByTimeAsync(49);
    expect(c.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.batches[2]).toEqual([5]);
  });

  it('pauses the source at the high-water mark and resumes it at the low-water mark, so memory stays bounded', async () => {
    const c = controlled();
    const events: string[] = [];
    const b = new MicroBatcher({
      maxBatch: 4,
      maxWaitMs: 10,
      highWaterMark: 12,
      lowWaterMark: 4,
      process: c.process,
      onPause: () => events.push('pause'),
      onResume: () => events.push('resume'),
    });
    // A fast source that stops when told to: 1000 frames against a slow scorer.
    let produced = 0;
    let peak = 0;
    while (produced < 1000) {
      while (!b.isPaused && produced < 1000) {
        b.push(produced++);
        peak = Math.max(peak, b.size);
      }
      c.finish.shift()?.();
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(10);
    while (c.finish.length) {
      c.finish.shift()!();
      await vi.advanceTimersByTimeAsync(10);
    }
    await b.close();
    expect(peak).toBeLessThanOrEqual(12);
    expect(events[0]).toBe('pause');
    expect(events.filter((e) => e === 'pause').length).toBe(events.filter((e) => e === 'resume').length);
    expect(c.batches.flat()).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('close() sends what is left and waits for it', async () => {
    vi.useRealTimers();
    const seen: number[][] = [];
    const b = new MicroBatcher({ maxBatch: 3, maxWaitMs: 1000, highWaterMark: 9, lowWaterMark: 3, process: async (x: number[]) => void seen.push(x) });
    [1, 2, 3, 4].forEach((i) => b.push(i));
    await Promise.all([b.close(), b.close()]);
    expect(seen).toEqual([[1, 2, 3], [4]]);
    expect(() => b.push(5)).toThrow('closed');
  });

  it('reports a failed batch and goes on', async () => {
    vi.useRealTimers();
    const failed: number[][] = [];
    const done: number[][] = [];
    const b = new MicroBatcher({
      maxBatch: 2,
      maxWaitMs: 1,
      highWaterMark: 4,
      lowWaterMark: 1,
      process: async (x: number[]) => {
        if (x.includes(1)) throw new Error('boom');
        done.push(x);
      },
      onError: (_err, batch) => failed.push(batch),
    });
    [1, 2, 3, 4].forEach((i) => b.push(i));
    await b.close();
    expect(failed).toEqual([[1, 2]]);
    expect(done).toEqual([[3, 4]]);
  });

  it('refuses inconsistent limits', () => {
    expect(() => new MicroBatcher({ maxBatch: 8, maxWaitMs: 5, highWaterMark: 4, lowWaterMark: 1, process: async () => {} })).toThrow(RangeError);
  });
});
