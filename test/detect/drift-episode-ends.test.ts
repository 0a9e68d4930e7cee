/**
 * The drift monitor's share of issue #27: a window restored from the changelog does not count
 * a redelivered frame again (its offset and frame time are at or below the last one counted),
 * but does count a recreated topic's frames (offsets start again, frame times are later);
 * snapshots carry both (v3) and older ones still restore; an open episode whose source went
 * quiet ends once (drift-silent), and a source that comes back shifted opens a new one.
 */
import { describe, expect, it } from 'vitest';
import { DriftMonitor } from '../../src/detect/drift.js';

const options = { window: 20, alpha: 1e-3, p0: 0.05, resolveAfterMs: 100, pValueCusum: false };

/** Feeds frames on partition 0 from `from` (offsets and 20 ms frame times); returns the events. */
function feed(m: DriftMonitor, flagged: boolean, count: number, from: number, t0 = 1_000_000) {
  const events = [];
  for (let i = from; i < from + count; i++) {
    const e = m.observe('cam', { flagged }, t0 + 20 * i, 0, String(i));
    if (e) events.push(e.type);
  }
  return events;
}

describe('redelivered frames after a restore', () => {
  it('are not counted again: the episode neither restarts nor moves', () => {
    const live = new DriftMonitor(options);
    expect(feed(live, false, 20, 0)).toEqual([]);
    expect(feed(live, true, 10, 20)).toEqual(['drift-started']);
    const snap = live.snapshot('cam')!;
    expect(snap).toMatchObject({ v: 3, partition: 0, offset: '29', lastTs: 1_000_000 + 20 * 29, active: true });
    const restored = new DriftMonitor(options);
    expect(restored.restore(JSON.parse(JSON.stringify(snap)))).toBe(true);
    // The crash redelivers offsets 25..29: nothing changes.
    expect(feed(restored, true, 5, 25)).toEqual([]);
    expect(restored.state('cam')).toEqual(live.state('cam'));
    // New frames are counted as before.
    expect(feed(restored, false, 40, 30)).toEqual(feed(live, false, 40, 30));
  });

  it('are counted when the topic was recreated: offsets start again, with later frame times', () => {
    const live = new DriftMonitor(options);
    feed(live, true, 30, 0);
    const restored = new DriftMonitor(options);
    restored.restore(live.snapshot('cam')!);
    const before = restored.state('cam')!.window;
    feed(restored, false, 5, 0, 5_000_000);
    expect(restored.state('cam')!.window).toBe(Math.min(20, before + 5));
    expect(restored.state('cam')!.flagged).toBe(15);
  });

  it('restores a v2 snapshot (before offsets) and counts every frame after it', () => {
    const live = new DriftMonitor(options);
    feed(live, true, 30, 0);
    const { offset: _o, lastTs: _t, ...v2 } = live.snapshot('cam')!;
    const restored = new DriftMonitor(options);
    expect(restored.restore({ ...v2, v: 2 })).toBe(true);
    feed(restored, false, 5, 25);
    expect(restored.state('cam')!.flagged).toBe(15);
  });
});

describe('a source that goes quiet mid-episode', () => {
  it('ends its episode once, after the silence; coming back still shifted opens a new one', () => {
    const m = new DriftMonitor(options);
    feed(m, false, 20, 0);
    expect(feed(m, true, 10, 20)).toEqual(['drift-started']);
    const now = Date.now();
    expect(m.endSilent(60_000, now)).toEqual([]);
    const ended = m.endSilent(60_000, now + 60_000);
    expect(ended).toEqual([{ source: 'cam', startedAt: expect.any(Number), lastFrameAt: 1_000_000 + 20 * 29, window: 20, flagged: 10, rate: 0.5, p0: 0.05 }]);
    expect(m.state('cam')!.active).toBe(false);
    expect(m.endSilent(60_000, now + 120_000)).toEqual([]);
    expect(feed(m, true, 1, 30)).toEqual(['drift-started']);
  });
});
