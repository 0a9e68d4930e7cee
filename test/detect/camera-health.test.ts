/**
 * The per-source camera-fault monitors (docs/DEFINITIONS.md#camera-faults): the broken-frame
 * window starts an episode at its critical count and ends it at the baseline's expected count,
 * stays quiet on a healthy camera at its baseline rate; the frozen-frame run needs the same
 * picture, not only the same hash; state stays bounded whatever the number of sources.
 */
import { describe, expect, it } from 'vitest';
import { INPUT_HEADS, type InputStats } from '../../src/contracts/input-stats.js';
import { BrokenFrameMonitor, FrozenFrameMonitor, hammingDistance, MAX_SOURCES } from '../../src/detect/camera-health.js';
import { mulberry32 } from '../../src/detect/calibration.js';

const stats = (hash: string, sharpness: number): InputStats => ({
  values: { ...(Object.fromEntries(INPUT_HEADS.map((h) => [h, 0.5])) as InputStats['values']), input_sharpness: sharpness },
  hash,
});

describe('BrokenFrameMonitor', () => {
  it('starts at the critical count, ends at the baseline, and is quiet at the baseline rate', () => {
    const m = new BrokenFrameMonitor({ window: 1000, baselineRate: 0.002, expectedRunTime: 18_144_000 });
    expect(m.criticalCount).toBe(12);
    expect(m.resolveCount).toBe(2);
    const random = mulberry32(3);
    // A healthy camera, 10⁶ frames at its baseline rate: no episode (one expected every ~9·10⁷).
    let episodes = 0;
    for (let i = 0; i < 1_000_000; i++) if (m.observe('healthy', random() < 0.002)) episodes++;
    expect(episodes).toBe(0);
    // A camera that breaks 1 frame in 10: the episode opens at the 12th broken frame in the window.
    const changes: Array<[number, string, number]> = [];
    for (let i = 0; i < 200; i++) {
      const c = m.observe('bad', i % 10 === 9);
      if (c) changes.push([i, c.state, c.count]);
    }
    expect(changes).toEqual([[119, 'started', 12]]);
    // Fixed: healthy frames push the 20 broken ones out of the window (after it is full) until 2 are left.
    for (let i = 0; i < 1000; i++) {
      const c = m.observe('bad', false);
      if (c) changes.push([i, c.state, c.count]);
    }
    expect(changes.at(-1)).toEqual([979, 'resolved', 2]);
    expect(changes).toHaveLength(2);
  });

  it('keeps at most MAX_SOURCES sources, forgetting the longest unseen', () => {
    const m = new BrokenFrameMonitor({ window: 10, baselineRate: 0.01, expectedRunTime: 1e6 });
    for (let i = 0; i <= MAX_SOURCES; i++) m.observe(`junk-${i}`, true);
    expect((m as unknown as { rings: Map<string, unknown> }).rings.size).toBe(MAX_SOURCES);
    expect((m as unknown as { rings: Map<string, unknown> }).rings.has('junk-0')).toBe(false);
  });
});

describe('FrozenFrameMonitor', () => {
  it('counts a run of the same picture, not of the same hash with other noise', () => {
    const m = new FrozenFrameMonitor({ frames: 5, maxHashBits: 2, maxSharpnessChange: 1e-3 });
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const c = m.observe('cam', stats('00ff00ff00ff00ff', 100));
      if (c) seen.push(`${i}:${c.state}:${c.count}`);
    }
    expect(m.isFrozen('cam')).toBe(true);
    // One bit off and the same sharpness: still the same picture.
    expect(m.observe('cam', stats('01ff00ff00ff00ff', 100))).toBeUndefined();
    // Same hash, the Laplacian variance 1 % off (a live sensor's noise): a new picture.
    const c = m.observe('cam', stats('00ff00ff00ff00ff', 101));
    expect(c).toEqual({ state: 'resolved', count: 9 });
    expect(seen).toEqual(['4:started:5']);
    // Unmeasured frames are skipped.
    expect(m.observe('cam', { ...stats('', 0) })).toBeUndefined();
    expect(hammingDistance('00ff00ff00ff00ff', 'ffff00ff00ff00ff')).toBe(8);
  });
});
