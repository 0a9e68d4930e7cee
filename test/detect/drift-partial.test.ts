/**
 * The drift monitor's partial-shift CUSUM and its threshold fitted to the conformal p-values'
 * own law (src/detect/partial-shifts.ts, src/detect/cusum-lattice.ts): the lattice chain
 * against the closed-form one, the measured false-alarm interval at ERT 10 000 on conformal
 * p-values, a weak partial shift caught sooner than by the −ln p CUSUM, snapshot v4 (v3
 * still restores), a new calibration's reference size; and the bench's FET (bench/fet-online.ts)
 * against exact hypergeometric sums and its configured run time.
 */
import { describe, expect, it } from 'vitest';
import { configureFet, FetDetector, fetStatistic } from '../../bench/fet-online.js';
import type { DriftSnapshot } from '../../src/contracts/drift.js';
import { mulberry32 } from '../../src/detect/calibration.js';
import { capIndex, fullShiftSteps, latticeRunLength, nullIndexLaw, partialShiftSteps } from '../../src/detect/cusum-lattice.js';
import { PARTIAL_SHIFT } from '../../src/detect/partial-shifts.js';
import { DriftMonitor, type DriftOptions } from '../../src/detect/drift.js';
import { cusumAverageRunLength } from '../../src/detect/ert.js';
import { assertValid } from '../helpers/contract.js';

const REFERENCE = 5000; // the bundled reference model's verdict reference size
const conformal = (random: () => number) => (1 + Math.floor(random() * (REFERENCE + 1))) / (REFERENCE + 1);

function falseAlarmInterval(options: DriftOptions, alarms: number, seed: number) {
  const random = mulberry32(seed);
  let m = new DriftMonitor(options);
  const gaps: number[] = [];
  let since = 0;
  while (gaps.length < alarms) {
    const p = conformal(random);
    since++;
    if (m.observe('cam', { flagged: p <= options.p0, pValue: p }, since)) {
      gaps.push(since);
      since = 0;
      m = new DriftMonitor(options);
    }
  }
  return gaps.reduce((a, b) => a + b, 0) / gaps.length;
}

/** Frames from the change to the first alarm: ID frames, then a share of frames with p-values drawn by `shifted`. */
function medianDelay(options: DriftOptions, share: number, shifted: (random: () => number) => number, runs: number, seed: number): number {
  const random = mulberry32(seed);
  const delays: number[] = [];
  for (let run = 0; run < runs; run++) {
    const m = new DriftMonitor(options);
    let t = 0;
    for (; t < 1000; t++) {
      const p = conformal(random);
      m.observe('cam', { flagged: p <= options.p0, pValue: p }, t);
    }
    for (let d = 1; d <= 100_000; d++) {
      const p = random() < share ? Math.max(1 / (REFERENCE + 1), shifted(random)) : conformal(random);
      if (m.observe('cam', { flagged: p <= options.p0, pValue: p }, t++)) {
        delays.push(d);
        break;
      }
    }
  }
  return delays.sort((x, y) => x - y)[Math.floor(delays.length / 2)]!;
}

/** p ~ Beta(a, 1): most mass near 0. */
const beta = (a: number) => (random: () => number) => random() ** (1 / a);

describe('CUSUMs on the lattice', () => {
  it('the generic chain gives the closed-form run length of the p-value CUSUM as the reference grows', () => {
    const law = nullIndexLaw(2_000_000);
    // Within 2 %: the law reads −ln p only down to 25 / (n + 1) (−ln p 11.3), Uniform's tail goes on.
    for (const h of [40, 120]) expect(Math.abs(latticeRunLength(fullShiftSteps(), law, h) / cusumAverageRunLength(h) - 1)).toBeLessThan(0.02);
  });

  it('the partial-shift CUSUM drifts down with no shift (its mean increment is −KL < 0) and up at small p-values', () => {
    const steps = partialShiftSteps({ ...PARTIAL_SHIFT, p0: 0.05 });
    const law = nullIndexLaw(REFERENCE);
    let mean = 0;
    law.forEach((q, x) => (mean += q * steps[x]!));
    expect(mean).toBeLessThan(0);
    expect(steps[capIndex(REFERENCE)]).toBeGreaterThan(0);
    // Read down to 25 calibration statistics (p 5e-3 for 5000): no law mass beyond the cap.
    expect(law.slice(capIndex(REFERENCE) + 1).every((q) => q === 0)).toBe(true);
  });
});

describe('the partial-shift CUSUM in the monitor', () => {
  const base: DriftOptions = { window: 500, p0: 0.05, resolveAfterMs: Infinity, expectedRunTime: 10_000 };
  const agent: DriftOptions = { ...base, partialShifts: true, referenceSize: REFERENCE };

  it('keeps the false-alarm interval within 0.8–1.25× an ERT of 10 000 on conformal p-values', () => {
    const measured = falseAlarmInterval(agent, 150, 11);
    expect(measured / 10_000).toBeGreaterThan(0.8);
    expect(measured / 10_000).toBeLessThan(1.25);
  });

  it('catches a weak partial shift (20 % of frames at p ~ Beta(0.4, 1)) sooner than the −ln p CUSUM and the flag count', () => {
    const without = medianDelay(base, 0.2, beta(0.4), 60, 5);
    const withPartial = medianDelay(agent, 0.2, beta(0.4), 60, 5);
    expect(withPartial).toBeLessThan(0.95 * without); // 137 vs 151 frames
  });

  it('catches a partial shift that is flagged at moderate p-values (20 % of frames, 75 % of them at p 0.01–0.05) much sooner', () => {
    // The alternative's flagged part (PARTIAL_SHIFT.flagged): −ln p hardly moves here, the flags do.
    const moderate = (random: () => number) => (random() < 0.75 ? 0.01 + 0.04 * random() : random());
    const without = medianDelay(base, 0.2, moderate, 60, 6);
    const withPartial = medianDelay(agent, 0.2, moderate, 60, 6);
    expect(withPartial).toBeLessThan(0.7 * without); // 43 vs 76 frames; 63 with the power-law part alone (flagged 0)
  });

  it('writes v4 snapshots, restores them exactly; a v3 one (the −ln p CUSUM) restores with the CUSUM at 0', () => {
    const a = new DriftMonitor(agent);
    const random = mulberry32(3);
    for (let i = 0; i < 300; i++) a.observe('cam', { flagged: false, pValue: random() < 0.2 ? 1e-3 : conformal(random) }, i);
    const snap = a.snapshot('cam')!;
    expect(snap.v).toBe(4);
    expect(snap.cusum).toBeGreaterThan(0);
    assertValid('drift-window', JSON.parse(JSON.stringify(snap)), 'v4 snapshot');
    const b = new DriftMonitor(agent);
    expect(b.restore(JSON.parse(JSON.stringify(snap)) as DriftSnapshot)).toBe(true);
    expect(b.snapshot('cam')).toEqual(snap);
    const v3 = { ...snap, v: 3 as const };
    assertValid('drift-window', v3, 'v3 snapshot');
    expect(b.restore(v3)).toBe(true);
    expect(b.snapshot('cam')).toMatchObject({ v: 4, cusum: 0, k: snap.k, n: snap.n });
    // And the other way: a monitor with the −ln p CUSUM does not read a v4 CUSUM as its own.
    const legacy = new DriftMonitor(base);
    expect(legacy.restore(snap)).toBe(true);
    expect(legacy.snapshot('cam')).toMatchObject({ v: 3, cusum: 0, k: snap.k });
  });

  it('ends an episode within about a window of ID frames after a long shift (the cap while open), at the default ERT', () => {
    const options: DriftOptions = { window: 50, p0: 0.05, resolveAfterMs: 500, partialShifts: true, referenceSize: REFERENCE };
    const m = new DriftMonitor(options);
    const random = mulberry32(8);
    let t = 0;
    const feed = (p: () => number) => m.observe('cam', { flagged: false, pValue: p() }, (t += 20));
    for (let i = 0; i < 200; i++) feed(() => conformal(random));
    let started = false;
    for (let i = 0; i < 2000; i++) started = feed(() => 1e-4)?.type === 'drift-started' || started;
    expect(started).toBe(true);
    let endedAfter = -1;
    for (let i = 1; i <= 1000 && endedAfter < 0; i++) if (feed(() => conformal(random))?.type === 'drift-resolved') endedAfter = i;
    // The cap h + W·KL: below h within about a window (50), then resolveAfterMs (25 frames).
    expect(endedAfter).toBeGreaterThan(25);
    expect(endedAfter).toBeLessThan(150);
  });

  it('a new calibration with another reference size refits the CUSUM thresholds, and a bad one is refused', () => {
    const m = new DriftMonitor(agent);
    const before = m.thresholds;
    m.setBaseline(0.05, 200);
    expect(m.thresholds.cusumThreshold).not.toBe(before.cusumThreshold);
    expect(() => m.setBaseline(0.05, 0.5)).toThrow(/referenceSize/);
  });
});

describe('the bench FET (Alibi Detect FETDriftOnline)', () => {
  /** 1 − hypergeom.cdf(sumRef, nRef + w, sumRef + c, nRef) by exact BigInt binomials. */
  function exact(nRef: number, sumRef: number, w: number, c: number): number {
    const choose = (n: number, k: number): bigint => {
      if (k < 0 || k > n) return 0n;
      let r = 1n;
      for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
      return r;
    };
    const K = sumRef + c;
    let upper = 0n;
    for (let x = sumRef + 1; x <= Math.min(K, nRef); x++) upper += choose(K, x) * choose(nRef + w - K, nRef - x);
    const total = choose(nRef + w, nRef);
    const scale = 10n ** 30n;
    return Number((upper * scale) / total) / 1e30;
  }

  it('its statistic is the one-sided Fisher exact test of the window against the reference', () => {
    for (const [w, c] of [[50, 2], [50, 9], [200, 20], [200, 4]] as const) expect(fetStatistic(600, 30, w, c)).toBeCloseTo(exact(600, 30, w, c), 12);
  });

  it('its simulated thresholds give about the configured run time on Bernoulli flags', () => {
    const random = mulberry32(9);
    const options = { nRef: 2000, sumRef: 100, windows: [20, 50], ert: 500, bootstraps: 5000 };
    const config = configureFet(options, random);
    let d = new FetDetector(options, config, random);
    const gaps: number[] = [];
    let since = 0;
    while (gaps.length < 200) {
      since++;
      if (d.push(random() < 0.05)) {
        gaps.push(since - 19); // Alibi's ERT counts from the smallest window full
        since = 0;
        d = new FetDetector(options, config, random);
      }
    }
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean / 500).toBeGreaterThan(0.75);
    expect(mean / 500).toBeLessThan(1.33);
  });
});
