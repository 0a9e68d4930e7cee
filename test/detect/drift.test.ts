/**
 * Drift episodes: the binomial test against exact values, start/resolve with hysteresis,
 * and the false-alarm behaviour on a long in-distribution stream of real verdicts
 * (the committed evaluation half scored by the reference model against its calibration,
 * replayed in seeded shuffles), compared with what the window and alpha predict.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { isFlagged, mulberry32 } from '../../src/detect/calibration.js';
import { binomialUpperTail, criticalCount } from '../../src/detect/binomial.js';
import type { DriftEvent } from '../../src/contracts/drift.js';
import { DriftMonitor, expectedFramesToFalseAlarm } from '../../src/detect/drift.js';
import { expectedFramesToFalseAlarmAt } from '../../src/detect/ert.js';
import { openFrameSet } from '../../src/frames/frame-set.js';
import { loadCalibration } from '../../src/calibration/calibration-check.js';
import { scoreSet } from '../../src/offline/score-set.js';
import { openOfflineSession } from '../../src/offline/session.js';

describe('binomialUpperTail', () => {
  // Exact values from Python's integer combinatorics: sum(comb(n,i) p^i (1-p)^(n-i)).
  it.each([
    [21, 200, 0.05, 0.0011599082507479112],
    [5, 10, 0.3, 0.15026833259999994],
    [30, 100, 0.1, 2.445112239390974e-8],
    [1, 1, 0.5, 0.5],
    [150, 1000, 0.05, 1.5513276667867072e-32],
    [60, 1000, 0.05, 0.08673217838485742],
  ])('P(X ≥ %i | n=%i, p=%f)', (k, n, p, exact) => {
    expect(Math.abs(binomialUpperTail(k, n, p) - exact) / exact).toBeLessThan(1e-11);
  });

  it('gives the critical count: the first k whose tail is below alpha', () => {
    const k = criticalCount(200, 0.05, 1e-3);
    expect(binomialUpperTail(k, 200, 0.05)).toBeLessThan(1e-3);
    expect(binomialUpperTail(k - 1, 200, 0.05)).toBeGreaterThanOrEqual(1e-3);
  });
});

describe('DriftMonitor', () => {
  const options = { window: 50, alpha: 1e-3, p0: 0.05, resolveAfterMs: 1000 };

  it('starts an episode on a burst of flags, per source, and resolves it after the rate stays low', () => {
    const m = new DriftMonitor(options);
    const events: DriftEvent[] = [];
    let t = 0;
    const feed = (source: string, flags: boolean[]) => {
      for (const f of flags) {
        const e = m.observe(source, { flagged: f }, (t += 100));
        if (e) events.push(e);
      }
    };
    const calm = (n: number) => Array.from({ length: n }, (_, i) => i % 20 === 0); // 5 %
    feed('cam-1', calm(100));
    feed('cam-2', calm(100));
    expect(events).toEqual([]);
    feed('cam-1', Array(20).fill(true));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'drift-started', source: 'cam-1', window: 50, p0: 0.05 });
    expect(events[0]!.pValue).toBeLessThan(1e-3);
    expect(m.state('cam-1')!.active).toBe(true);
    expect(m.state('cam-2')!.active).toBe(false);
    // Back to 5 %: the window drains, then the rate must stay ≤ 2·p0 for 1 s of frame time.
    feed('cam-1', calm(49));
    expect(events).toHaveLength(1);
    feed('cam-1', calm(30));
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ type: 'drift-resolved', source: 'cam-1', startedAt: events[0]!.ts });
    expect(events[1]!.rate).toBeLessThanOrEqual(0.1);
  });

  it('does not flap: a rate hovering at the resolve bound does not end the episode early', () => {
    const m = new DriftMonitor(options);
    let t = 0;
    for (let i = 0; i < 60; i++) m.observe('s', { flagged: true }, (t += 100));
    expect(m.state('s')!.active).toBe(true);
    // Alternate between just above and below 2·p0: the hysteresis clock keeps restarting.
    const events: DriftEvent[] = [];
    for (let i = 0; i < 400; i++) {
      const e = m.observe('s', { flagged: i % 9 === 0 }, (t += 100));
      if (e) events.push(e);
    }
    expect(events.filter((e) => e.type === 'drift-resolved').length).toBeLessThanOrEqual(1);
    expect(events.filter((e) => e.type === 'drift-started')).toHaveLength(0);
  });

  it('forgets sources gone quiet, but never one with an open episode', () => {
    const m = new DriftMonitor({ ...options, idleForgetMs: 60_000 });
    for (let i = 0; i < 1000; i++) m.observe(`transient-${i}`, { flagged: false }, i); // e.g. per-session ids
    for (let i = 0; i < 60; i++) m.observe('drifting', { flagged: true }, i);
    expect(m.state('drifting')!.active).toBe(true);
    expect(m.size).toBe(1001);
    expect(m.forgetIdle(Date.now() + 30_000)).toEqual([]); // not idle long enough yet
    const dropped = m.forgetIdle(Date.now() + 61_000);
    expect(dropped).toHaveLength(1000);
    expect(m.size).toBe(1);
    expect(m.state('drifting')!.active).toBe(true); // its drift-resolved is still owed
    expect(new DriftMonitor(options).forgetIdle(Date.now() + 1e9)).toEqual([]); // off by default
  });

  it('refuses nonsense options', () => {
    expect(() => new DriftMonitor({ ...options, p0: 0 })).toThrow(RangeError);
    expect(() => new DriftMonitor({ ...options, alpha: 2 })).toThrow(RangeError);
    expect(() => new DriftMonitor({ ...options, expectedRunTime: 99 })).toThrow(RangeError);
  });
});

describe('false alarms and detection delay on real verdicts (fmnist-resnet18)', () => {
  let idFlags: boolean[];
  let p0: number;

  beforeAll(async () => {
    const config = loadConfig({ env: {}, overrides: { 'model.dir': 'models/fmnist-resnet18', 'runtime.executionProviders': ['cpu'], 'runtime.maxBatch': 128 } });
    const session = await openOfflineSession(config);
    try {
      const calibration = await loadCalibration('calibration/fmnist-resnet18.json', { model: 'fmnist-resnet18', fingerprint: session.fingerprint });
      const z = calibration.heads.gaia_z!;
      p0 = z.flagRate;
      const scores = await scoreSet(await openFrameSet(join(import.meta.dirname, '..', 'fixtures', 'sets', 'fmnist-eval')), session.pre, session.scorer, {
        batch: 128,
        onBadFrame: 'stop',
      });
      idFlags = Array.from(scores.heads.gaia_z!, (v) => isFlagged(v, z));
    } finally {
      await session.scorer.close();
    }
  });

  /** An endless in-distribution verdict stream: seeded shuffles of the held-out frames. */
  function* idStream(seed: number): Generator<boolean> {
    const random = mulberry32(seed);
    const order = idFlags.map((_, i) => i);
    for (;;) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const i of order) yield idFlags[i]!;
    }
  }

  it.each([
    [200, 1e-3],
    [100, 1e-2],
  ])('window %i, alpha %f: frames to a false drift match the prediction within a factor of 3', (window, alpha) => {
    const predicted = expectedFramesToFalseAlarm(window, p0, alpha);
    const stream = idStream(window);
    const gaps: number[] = [];
    let monitor = new DriftMonitor({ window, alpha, p0, resolveAfterMs: Infinity });
    let since = 0;
    for (let frame = 0; gaps.length < 30 && frame < 20_000_000; frame++) {
      since++;
      if (monitor.observe('cam', { flagged: stream.next().value as boolean }, frame)) {
        gaps.push(since);
        since = 0;
        monitor = new DriftMonitor({ window, alpha, p0, resolveAfterMs: Infinity });
      }
    }
    const measured = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    // The first-passage prediction that drift.expectedRunTime uses (src/detect/ert.ts) is closer than the upcrossing one.
    const firstPassage = expectedFramesToFalseAlarmAt(window, p0, criticalCount(window, p0, alpha));
    console.log(`window ${window}, alpha ${alpha}: ${gaps.length} false drifts, mean ${measured.toFixed(0)} frames apart, predicted ${predicted.toFixed(0)} (upcrossing), ${firstPassage.toFixed(0)} (first passage)`);
    expect(gaps.length).toBe(30);
    expect(measured / firstPassage).toBeGreaterThan(1 / 1.5);
    expect(measured / firstPassage).toBeLessThan(1.5);
    expect(measured / predicted).toBeGreaterThan(1 / 3);
    expect(measured / predicted).toBeLessThan(3);
  });

  it('reports the detection delay on a 50 % OOD mix', () => {
    // OOD verdicts at the reference model's rate on digits (FPR95 14.9 %: ~85 % flagged),
    // drawn from the seeded generator; ID verdicts are the real ones.
    const random = mulberry32(99);
    const delays: number[] = [];
    for (let run = 0; run < 20; run++) {
      const stream = idStream(1000 + run);
      const monitor = new DriftMonitor({ window: 200, alpha: 1e-3, p0, resolveAfterMs: 60_000 });
      let frame = 0;
      for (; frame < 1000; frame++) expect(monitor.observe('cam', { flagged: stream.next().value as boolean }, frame)).toBeUndefined();
      const switchedAt = frame;
      for (;;) {
        const flagged = random() < 0.5 ? random() < 0.85 : (stream.next().value as boolean);
        if (monitor.observe('cam', { flagged }, frame++)) break;
      }
      delays.push(frame - switchedAt);
    }
    delays.sort((a, b) => a - b);
    console.log(`50 % OOD mix, window 200, alpha 1e-3: detection delay median ${delays[10]} frames (min ${delays[0]}, max ${delays[19]})`);
    expect(delays[19]).toBeLessThan(200);
  });
});
