/**
 * DeliveryQueue: one delivery at a time, in order; batches that arrive meanwhile are merged
 * into the next delivery; nothing is delivered or acknowledged past a failure.
 */
import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../src/stream/delivery-queue.js';
import type { BatchOutputs, SourceMessage } from '../../src/contracts/stream.js';
import type { VerdictRecord } from '../../src/contracts/events.js';

const message = (id: string): SourceMessage => ({ source: 'cam', frameId: id, value: new Uint8Array(), headers: {}, origin: { offset: id } });
const outputs = (ids: string[]): BatchOutputs => ({ events: [], records: ids.map((frameId) => ({ frameId }) as VerdictRecord), letters: [] });

/** A delivery the test completes by hand. */
function manual() {
  const calls: Array<{ frames: string[]; acked: string[]; finish: (err?: Error) => void }> = [];
  const deliver = (out: BatchOutputs, messages: readonly SourceMessage[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ frames: out.records.map((r) => r.frameId), acked: messages.map((m) => m.frameId), finish: (err) => (err ? reject(err) : resolve()) });
    });
  return { calls, deliver };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DeliveryQueue', () => {
  it('delivers a batch at once when idle, and merges the batches that arrive during a delivery', async () => {
    const { calls, deliver } = manual();
    const q = new DeliveryQueue(deliver);
    const first = q.push(outputs(['a1', 'a2']), [message('a1'), message('a2')]);
    expect(calls).toHaveLength(1); // no waiting when idle
    const later = [q.push(outputs(['b1']), [message('b1')]), q.push(outputs(['c1', 'c2']), [message('c1'), message('c2')])];
    expect(calls).toHaveLength(1); // one delivery at a time
    calls[0]!.finish();
    await first;
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ frames: ['b1', 'c1', 'c2'], acked: ['b1', 'c1', 'c2'] }); // merged, in order
    calls[1]!.finish();
    await Promise.all(later);
    expect([q.deliveries, q.batches]).toEqual([2, 3]);
  });

  it('spaces deliveries by minIntervalMs (the exactly-once transaction interval), merging what arrives meanwhile', async () => {
    const { calls, deliver } = manual();
    const q = new DeliveryQueue(deliver, 150);
    const started = performance.now();
    const first = q.push(outputs(['a']), [message('a')]);
    expect(calls).toHaveLength(1); // the first after a quiet spell goes at once
    calls[0]!.finish();
    await first;
    const rest = ['b', 'c', 'd'].map((id) => q.push(outputs([id]), [message(id)]));
    await tick();
    expect(calls).toHaveLength(1); // held until the interval has passed
    while (calls.length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(calls[1]!.frames).toEqual(['b', 'c', 'd']);
    calls[1]!.finish();
    await Promise.all(rest);
  });

  it('after a failed delivery, rejects what was queued and what comes later: nothing is acknowledged past it', async () => {
    const { calls, deliver } = manual();
    const q = new DeliveryQueue(deliver);
    const first = q.push(outputs(['a']), [message('a')]);
    const queued = q.push(outputs(['b']), [message('b')]);
    calls[0]!.finish(new Error('brokers unreachable'));
    await expect(first).rejects.toThrow('brokers unreachable');
    await expect(queued).rejects.toThrow('brokers unreachable');
    await expect(q.push(outputs(['c']), [message('c')])).rejects.toThrow('brokers unreachable');
    expect(calls).toHaveLength(1);
  });
});
