/**
 * Drift alarms configured by expected run time (docs/DEFINITIONS.md#drift-episodes): the
 * measured frames between false drift-started events of the DriftMonitor itself on long
 * seeded in-distribution streams (flags and p-values from one uniform: flagged = p ≤ p0),
 * for each statistic alone and both together, against the configured ERT; the same with
 * discrete conformal p-values at the committed calibration's size; the p-value CUSUM
 * against the flag count on a subtle shift; snapshots v2 and v1; the config's ERT/alpha rules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { mulberry32 } from '../../src/detect/calibration.js';
import type { DriftEvent, DriftSnapshot } from '../../src/contracts/drift.js';
import { DEFAULT_EXPECTED_RUN_TIME, DriftMonitor, type DriftOptions } from '../../src/detect/drift.js';
import { CUSUM_QUANTUM, cusumAverageRunLength, cusumThresholdForRunTime, criticalCountForRunTime, expectedFramesToFalseAlarmAt, upcrossingFramesToFalseAlarm } from '../../src/detect/ert.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { assertValid } from '../helpers/contract.js';

const P0 = 0.05;

/** A verdict stream with no shift: p ~ Uniform(0, 1) (or `pOf` of it), flagged = p ≤ p0. */
type Feed = 'both' | 'flags-only' | 'p-values-only';

/**
 * Frames between false drift-started events of one source: after each, the source is
 * forgotten (a fresh start, so the intervals are independent renewals).
 */
function falseAlarmIntervals(options: DriftOptions, feed: Feed, alarms: number, seed: number, pOf: (u: number) => number = (u) => u) {
  const random = mulberry32(seed);
  const monitor = new DriftMonitor(options);
  const gaps: number[] = [];
  const by = { 'flag-count': 0, 'p-value-cusum': 0 };
  let since = 0;
  let frames = 0;
  while (gaps.length < alarms && frames < 50_000_000) {
    const p = pOf(1 - random()); // (0, 1]
    const verdict = feed === 'flags-only' ? { flagged: p <= options.p0 } : feed === 'p-values-only' ? { flagged: false, pValue: p } : { flagged: p <= options.p0, pValue: p };
    since++;
    frames++;
    const e = monitor.observe('cam', verdict, frames);
    if (e) {
      expect(e.type).toBe('drift-started');
      by[e.statistic!]++;
      gaps.push(since);
      since = 0;
      monitor.forget('cam');
    }
  }
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return { mean, gaps: gaps.length, frames, by, thresholds: monitor.thresholds };
}

describe('thresholds from the expected run time', () => {
  it('the CUSUM threshold is the smallest h whose exact lattice ARL reaches its share, and is fast to find', () => {
    for (const ert of [2e3, 2e4, 2e5, 2 * DEFAULT_EXPECTED_RUN_TIME]) {
      const started = performance.now();
      const h = cusumThresholdForRunTime(ert);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(cusumAverageRunLength(h)).toBeGreaterThanOrEqual(ert);
      expect(cusumAverageRunLength(h - 1)).toBeLessThan(ert);
    }
    // The default: h = 324 steps of ln2/8 = 28.07 in −ln p units, ARL 3.76e7 ≥ 2 · 18 144 000.
    expect(cusumThresholdForRunTime(2 * DEFAULT_EXPECTED_RUN_TIME)).toBe(324);
    // h = 1 step: an alarm needs ⌊−ln p / δ⌋ ≥ 17, probability e^{−17δ}: a geometric run length.
    expect(cusumAverageRunLength(1)).toBeCloseTo(1 / Math.exp(-17 * CUSUM_QUANTUM), 9);
  });

  it('the flag count is the smallest whose first-passage ERT reaches its share; the CUSUM takes the rest', () => {
    for (const [w, ert] of [
      [50, 2e3],
      [500, 2 * DEFAULT_EXPECTED_RUN_TIME],
    ] as const) {
      const k = criticalCountForRunTime(w, P0, ert);
      expect(expectedFramesToFalseAlarmAt(w, P0, k)).toBeGreaterThanOrEqual(ert);
      expect(expectedFramesToFalseAlarmAt(w, P0, k - 1)).toBeLessThan(ert);
    }
    const t = new DriftMonitor({ window: 500, p0: P0, resolveAfterMs: 1000 }).thresholds;
    expect(t).toMatchObject({ criticalCount: 52, flagCountFrom: 'expectedRunTime' });
    expect(t.flagCountRunTime).toBeGreaterThanOrEqual(2 * DEFAULT_EXPECTED_RUN_TIME);
    expect(t.cusumRunTime!).toBeGreaterThanOrEqual(DEFAULT_EXPECTED_RUN_TIME);
    expect(t.cusumRunTime!).toBeLessThanOrEqual(2 * DEFAULT_EXPECTED_RUN_TIME);
    // Both together: 1/ERT = 1/ERT₁ + 1/ERT₂ ≥ the configured 18 144 000 (whole-number thresholds round up).
    expect(t.expectedRunTime).toBeGreaterThanOrEqual(DEFAULT_EXPECTED_RUN_TIME);
    expect(t.expectedRunTime).toBeLessThan(1.5 * DEFAULT_EXPECTED_RUN_TIME);
    expect(1 / t.expectedRunTime).toBeCloseTo(1 / t.flagCountRunTime + 1 / t.cusumRunTime!, 15);
  });
});

describe('a new baseline (calibration reload)', () => {
  it('re-derives the flag count and the CUSUM share for the new p0, keeping the total at the ERT, and keeps the CUSUM state', () => {
    const m = new DriftMonitor({ window: 500, p0: 0.05, resolveAfterMs: 1000 });
    const random = mulberry32(9);
    for (let i = 0; i < 300; i++) m.observe('cam', { flagged: false, pValue: (1 - random()) ** 1.3 }, i);
    const before = m.snapshot('cam')!.cusum;
    const t0 = m.thresholds;
    m.setBaseline(0.1);
    const t1 = m.thresholds;
    expect(t1.criticalCount).toBeGreaterThan(t0.criticalCount);
    expect(t1.flagCountRunTime).toBeGreaterThanOrEqual(2 * DEFAULT_EXPECTED_RUN_TIME);
    expect(t1.expectedRunTime).toBeGreaterThanOrEqual(DEFAULT_EXPECTED_RUN_TIME);
    expect(t1.expectedRunTime).toBeLessThan(1.5 * DEFAULT_EXPECTED_RUN_TIME);
    expect(m.snapshot('cam')!.cusum).toBe(before);
  });
});

describe('measured false-alarm interval on simulated in-distribution streams', () => {
  // [ERT, window, alarms]: ~40 alarms each, so the mean is within ±30 % of the truth at 2σ.
  const cases = [
    [1e3, 50, 60],
    [1e4, 100, 40],
    [1e5, 500, 30],
  ] as const;

  it.each(cases)('ERT %i (window %i): both statistics together, and each alone, within a factor of 3', (ert, window, alarms) => {
    const options = { window, p0: P0, resolveAfterMs: Infinity, expectedRunTime: ert };
    const both = falseAlarmIntervals(options, 'both', alarms, ert + 1);
    const flagAlone = falseAlarmIntervals({ ...options, pValueCusum: false }, 'flags-only', alarms, ert + 2);
    const cusumAlone = falseAlarmIntervals(options, 'p-values-only', alarms, ert + 3);
    const k = flagAlone.thresholds.criticalCount;
    console.log(
      `ERT ${ert}, window ${window}: both ${both.mean.toFixed(0)} frames (${both.gaps} alarms: ${both.by['flag-count']} flag-count, ${both.by['p-value-cusum']} CUSUM; predicted ${both.thresholds.expectedRunTime.toFixed(0)}); ` +
        `flag count alone (whole ERT, k ${k}) ${flagAlone.mean.toFixed(0)}, first-passage prediction ${flagAlone.thresholds.flagCountRunTime.toFixed(0)}, upcrossing ${upcrossingFramesToFalseAlarm(window, P0, k).toFixed(0)}; ` +
        `CUSUM alone (its share ${cusumAlone.thresholds.cusumRunTime!.toFixed(0)}, exact ARL) ${cusumAlone.mean.toFixed(0)}`,
    );
    expect(both.gaps).toBe(alarms);
    expect(both.mean / ert).toBeGreaterThan(1 / 3);
    expect(both.mean / ert).toBeLessThan(3);
    // Each statistic's own share: every statistic fires, about as often as the other.
    expect(both.by['flag-count']).toBeGreaterThan(alarms / 8);
    expect(both.by['p-value-cusum']).toBeGreaterThan(alarms / 8);
    expect(flagAlone.mean / ert).toBeGreaterThan(1 / 3);
    expect(flagAlone.mean / ert).toBeLessThan(3);
    // The flag count's first-passage prediction is close (the upcrossing one is 1.4–2.2× short).
    expect(Math.abs(flagAlone.mean / flagAlone.thresholds.flagCountRunTime - 1)).toBeLessThan(0.4);
    expect(cusumAlone.mean / ert).toBeGreaterThan(1 / 3);
    expect(cusumAlone.mean / (2 * ert)).toBeLessThan(3);
    // The CUSUM's ARL is exact: the simulation agrees far better than a factor of 3 (±3 standard errors).
    expect(Math.abs(cusumAlone.mean / cusumAlone.thresholds.cusumRunTime! - 1)).toBeLessThan(3 / Math.sqrt(alarms));
  });

  it('with discrete conformal p-values at the committed calibration (n = 5000, p0 = its flagRate): conservative, within a factor of 3', () => {
    const calibration = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'calibration', 'fmnist-resnet18.json'), 'utf8')) as {
      data: { frames: number };
      heads: Record<string, { flagRate: number }>;
      primaryHead: string;
    };
    const n = calibration.data.frames;
    const p0 = calibration.heads[calibration.primaryHead]!.flagRate;
    // Exchangeable with the n calibration frames, a frame's p-value (1 + #{calibration ≥ it})/(n + 1) is uniform on {1, …, n+1}/(n+1): ties included.
    const conformal = (u: number) => Math.ceil(u * (n + 1)) / (n + 1);
    const ert = 1e4;
    const r = falseAlarmIntervals({ window: 100, p0, resolveAfterMs: Infinity, expectedRunTime: ert }, 'both', 40, 77, conformal);
    console.log(`conformal p-values (n ${n}, p0 ${p0}), ERT ${ert}: ${r.mean.toFixed(0)} frames between false alarms (${r.by['flag-count']} flag-count, ${r.by['p-value-cusum']} CUSUM)`);
    expect(r.mean / ert).toBeGreaterThan(1 / 3);
    expect(r.mean / ert).toBeLessThan(3);
  });
});

describe('the p-value CUSUM on a subtle shift', () => {
  it('detects p ~ Beta(0.5, 1) faster than the flag count, at the default ERT and window', () => {
    const random = mulberry32(2024);
    const defaults = { window: 500, p0: P0, resolveAfterMs: 60_000 };
    const delays = { both: [] as number[], flagOnly: [] as number[] };
    const by = { 'flag-count': 0, 'p-value-cusum': 0 };
    for (let run = 0; run < 25; run++) {
      const both = new DriftMonitor(defaults);
      const flagOnly = new DriftMonitor({ ...defaults, pValueCusum: false });
      let frame = 0;
      for (; frame < 1000; frame++) {
        const p = 1 - random();
        expect(both.observe('cam', { flagged: p <= P0, pValue: p }, frame)).toBeUndefined();
        expect(flagOnly.observe('cam', { flagged: p <= P0 }, frame)).toBeUndefined();
      }
      const changedAt = frame;
      let doneBoth = false;
      let doneFlag = false;
      while (!(doneBoth && doneFlag) && frame < changedAt + 100_000) {
        const p = (1 - random()) ** 2; // Beta(0.5, 1): P(p ≤ t) = √t, so 22 % flagged instead of 5 %
        frame++;
        if (!doneBoth) {
          const e = both.observe('cam', { flagged: p <= P0, pValue: p }, frame);
          if (e) {
            doneBoth = true;
            by[e.statistic!]++;
            delays.both.push(frame - changedAt);
          }
        }
        if (!doneFlag && flagOnly.observe('cam', { flagged: p <= P0 }, frame)) {
          doneFlag = true;
          delays.flagOnly.push(frame - changedAt);
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`Beta(0.5,1) shift: median frames to detection ${median(delays.both)} with the CUSUM (${by['p-value-cusum']}/25 by it), ${median(delays.flagOnly)} by the flag count alone`);
    expect(delays.both).toHaveLength(25);
    expect(delays.flagOnly).toHaveLength(25);
    expect(median(delays.both)).toBeLessThan(median(delays.flagOnly) / 2);
    expect(by['p-value-cusum']).toBeGreaterThan(20);
  });

  it('keeps a CUSUM episode open while the p-values stay low, and resolves it after resolveAfterMs once they are uniform again', () => {
    const random = mulberry32(5);
    const m = new DriftMonitor({ window: 100, p0: P0, resolveAfterMs: 5000, expectedRunTime: 1e6 });
    const events: DriftEvent[] = [];
    let t = 0;
    const feed = (frames: number, p: () => number, flagged: (p: number) => boolean = (p) => p <= P0) => {
      for (let i = 0; i < frames; i++) {
        const pv = p();
        const e = m.observe('cam', { flagged: flagged(pv), pValue: pv }, (t += 100));
        if (e) events.push(e);
      }
    };
    feed(200, () => 1 - random());
    expect(events).toEqual([]);
    // Small p-values but no flags at all (p0 ≥ every p would flag; here flags stay off): only the CUSUM sees it.
    feed(600, () => (1 - random()) ** 4, () => false);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'drift-started', statistic: 'p-value-cusum' });
    expect(events[0]!.flagged).toBeLessThan(events[0]!.criticalCount);
    expect(events[0]!.cusum!).toBeGreaterThanOrEqual(events[0]!.cusumThreshold!);
    // A minute of crossings: no second event, no resolve.
    expect(m.state('cam')!.active).toBe(true);
    feed(300, () => 1 - random());
    expect(events.map((e) => e.type)).toEqual(['drift-started', 'drift-resolved']);
    expect(events[1]!.ts - events[0]!.ts).toBeGreaterThan(500 * 100);
  });

  it('does not flap on a long subtle shift, even with a short resolveAfterMs (the CUSUM stays above h while the shift lasts)', () => {
    const random = mulberry32(11);
    const m = new DriftMonitor({ window: 500, p0: P0, resolveAfterMs: 100 }); // default ERT; one frame of hysteresis at 10 fps
    const events: DriftEvent[] = [];
    let t = 0;
    for (let i = 0; i < 2000; i++) {
      const p = 1 - random();
      expect(m.observe('cam', { flagged: p <= P0, pValue: p }, (t += 100))).toBeUndefined();
    }
    // 20 000 frames of Beta(0.5, 1) p-values and no flags at all (only the p-values show it), then back to normal.
    for (let i = 0; i < 20_000; i++) {
      const p = (1 - random()) ** 2;
      const e = m.observe('cam', { flagged: false, pValue: p }, (t += 100));
      if (e) events.push(e);
    }
    expect(events.map((e) => e.type)).toEqual(['drift-started']);
    for (let i = 0; i < 2000; i++) {
      const p = 1 - random();
      const e = m.observe('cam', { flagged: p <= P0, pValue: p }, (t += 100));
      if (e) events.push(e);
    }
    expect(events.map((e) => e.type)).toEqual(['drift-started', 'drift-resolved']);
    expect(events[1]!.cusum!).toBeLessThan(events[1]!.cusumThreshold!);
    expect(m.snapshot('cam')!.cusum).toBeLessThan(events[1]!.cusumThreshold!);
  });

  it('frames without a p-value feed only the flag count', () => {
    const m = new DriftMonitor({ window: 100, p0: P0, resolveAfterMs: 1000, expectedRunTime: 1e4 });
    for (let i = 0; i < 5000; i++) expect(m.observe('cam', { flagged: false }, i)).toBeUndefined();
    for (let i = 0; i < 5000; i++) expect(m.observe('cam', { flagged: false, pValue: Number.NaN }, i)).toBeUndefined();
    expect(m.snapshot('cam')!.cusum).toBe(0);
  });
});

describe('snapshots for the changelog', () => {
  const options = { window: 100, p0: P0, resolveAfterMs: 1000, expectedRunTime: 1e6 };
  const stream = (seed: number, n: number) => {
    const random = mulberry32(seed);
    return Array.from({ length: n }, () => {
      const p = (1 - random()) ** 1.45; // −ln p has mean 1.45, just above k = 2 ln 2: the CUSUM climbs slowly
      return { flagged: false, pValue: p };
    });
  };

  it('v2 and later carry the CUSUM: a restored monitor continues exactly as the original', () => {
    const a = new DriftMonitor(options);
    const head = stream(1, 150).map((v, i) => a.observe('cam', v, i));
    const snap = a.snapshot('cam')!;
    expect(snap.v).toBe(3); // v3: v2 and the last frame's offset and time (drift-episode-ends.test.ts)
    expect(snap.cusum).toBeGreaterThan(0);
    assertValid('drift-window', JSON.parse(JSON.stringify(snap)), 'v2 snapshot');
    const b = new DriftMonitor(options);
    expect(b.restore(JSON.parse(JSON.stringify(snap)) as DriftSnapshot)).toBe(true);
    expect(b.snapshot('cam')).toEqual(snap);
    const tail = stream(2, 3000);
    const ea = tail.map((v, i) => a.observe('cam', v, 150 + i));
    const eb = tail.map((v, i) => b.observe('cam', v, 150 + i));
    expect(eb).toEqual(ea);
    expect([...head, ...ea].filter((e) => e).map((e) => e!.statistic ?? e!.type)).toContain('p-value-cusum');
    expect(b.snapshot('cam')).toEqual(a.snapshot('cam'));
  });

  it('still restores a v1 snapshot (the CUSUM starts at 0), and refuses a v2 one with a bad CUSUM', () => {
    const a = new DriftMonitor(options);
    stream(3, 150).forEach((v, i) => a.observe('cam', v, i));
    const { cusum: _cusum, ...rest } = a.snapshot('cam')!;
    const v1 = { ...rest, v: 1 as const };
    assertValid('drift-window', v1, 'v1 snapshot');
    const b = new DriftMonitor(options);
    expect(b.restore(v1)).toBe(true);
    expect(b.snapshot('cam')).toMatchObject({ v: 3, cusum: 0, k: v1.k, n: v1.n, next: v1.next });
    expect(b.restore({ ...a.snapshot('cam')!, cusum: -1 })).toBe(false);
    expect(b.restore({ ...a.snapshot('cam')!, cusum: undefined })).toBe(false);
  });
});

describe('config: drift.expectedRunTime and drift.alpha', () => {
  const error = (env: Record<string, string>) => {
    try {
      loadConfig({ env });
    } catch (err) {
      return err as GaiaError;
    }
    throw new Error('loaded');
  };

  it('defaults to a week at 30 fps, alpha derived, CUSUM on, window 500', () => {
    expect(loadConfig({ env: {} }).drift).toMatchObject({ expectedRunTime: 18_144_000, referenceFps: 30, alpha: 0, pValueCusum: true, window: 500 });
    expect(loadConfig({ env: { GAIA_DRIFT_EXPECTED_RUN_TIME: '1000000', GAIA_DRIFT_REFERENCE_FPS: '12.5' } }).drift).toMatchObject({ expectedRunTime: 1_000_000, referenceFps: 12.5 });
  });

  it('alpha alone overrides the flag count (the CUSUM keeps its share)', () => {
    const config = loadConfig({ env: { GAIA_DRIFT_ALPHA: '0.001', GAIA_DRIFT_WINDOW: '100' } });
    expect(config.drift.alpha).toBe(0.001);
    const m = new DriftMonitor({ window: 100, p0: P0, resolveAfterMs: 0, alpha: config.drift.alpha, expectedRunTime: config.drift.expectedRunTime });
    expect(m.thresholds).toMatchObject({ flagCountFrom: 'alpha', criticalCount: 14 });
    expect(m.thresholds.cusumRunTime).toBeGreaterThanOrEqual(2 * DEFAULT_EXPECTED_RUN_TIME);
  });

  it.each([
    [{ GAIA_DRIFT_ALPHA: '0.001', GAIA_DRIFT_EXPECTED_RUN_TIME: '1000000' }, ['drift.alpha', 'drift.expectedRunTime', 'set only']],
    [{ GAIA_DRIFT_EXPECTED_RUN_TIME: '0' }, ['drift.expectedRunTime', 'GAIA_DRIFT_EXPECTED_RUN_TIME', 'positive integer']],
    [{ GAIA_DRIFT_EXPECTED_RUN_TIME: '1.5e6x' }, ['drift.expectedRunTime', 'GAIA_DRIFT_EXPECTED_RUN_TIME']],
    [{ GAIA_DRIFT_EXPECTED_RUN_TIME: '999', GAIA_DRIFT_WINDOW: '500' }, ['drift.expectedRunTime', 'twice drift.window']],
    [{ GAIA_DRIFT_EXPECTED_RUN_TIME: '2000000000000' }, ['drift.expectedRunTime', '1000000000000']],
    [{ GAIA_DRIFT_ALPHA: '1' }, ['drift.alpha', 'GAIA_DRIFT_ALPHA']],
    [{ GAIA_DRIFT_REFERENCE_FPS: '0' }, ['drift.referenceFps', 'GAIA_DRIFT_REFERENCE_FPS']],
  ])('refuses %j naming the key and the reason', (env, fragments) => {
    const err = error(env);
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    for (const f of fragments) expect(err.message).toContain(f);
  });

  it('the monitor refuses an ERT it cannot meet or a nonsense alpha', () => {
    expect(() => new DriftMonitor({ window: 500, p0: P0, resolveAfterMs: 0, expectedRunTime: 999 })).toThrow(RangeError);
    expect(() => new DriftMonitor({ window: 500, p0: P0, resolveAfterMs: 0, alpha: -1 })).toThrow(RangeError);
  });
});
