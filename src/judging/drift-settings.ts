/** The drift monitor the configuration asks for, and its alarm rate in words for the operator. */
import type { Config } from '../config/load.js';
import { DriftMonitor, type DriftThresholds } from '../detect/drift.js';

type DriftConfig = Readonly<Config['drift']>;

/**
 * A drift monitor with the configured windows and expected run time, for baseline flag rate p0
 * and verdict p-values ranked against `referenceSize` calibration statistics.
 */
export function driftMonitor(drift: DriftConfig, p0: number, referenceSize?: number): DriftMonitor {
  return new DriftMonitor({
    window: drift.window,
    expectedRunTime: drift.expectedRunTime,
    ...(drift.alpha > 0 ? { alpha: drift.alpha } : {}),
    pValueCusum: drift.pValueCusum,
    // The partial-shift CUSUM reads verdict p-values: without reference statistics there are none.
    partialShifts: drift.partialShifts && referenceSize !== undefined,
    ...(referenceSize === undefined ? {} : { referenceSize }),
    p0,
    resolveAfterMs: drift.resolveAfterMs,
    ...(drift.resolveRate > 0 ? { resolveRate: drift.resolveRate } : {}),
    ...(drift.idleForgetMs > 0 ? { idleForgetMs: drift.idleForgetMs } : {}),
  });
}

/**
 * The drift alarm rate in words: "a false episode every 17.6M frames per source (6.81 days at 30 fps; ...); window 500,
 * episode at 59 flagged (fitted to a flag rate of 5.64 %) (alone a false one every 14.2G frames at p0);
 * partial-shift p-value CUSUM h 14.12 (alone every 17.7M frames)". p0: the calibration's flag rate; the count is fitted to
 * a bound above it (flagRateBound, src/detect/drift-thresholds.ts).
 */
export function driftInWords(drift: DriftConfig, t: DriftThresholds): string {
  const fps = drift.referenceFps;
  const frames = (n: number) => (n >= 1e12 ? n.toExponential(2) : n >= 1e9 ? `${(n / 1e9).toPrecision(3)}G` : n >= 1e6 ? `${(n / 1e6).toPrecision(3)}M` : n >= 1e3 ? `${(n / 1e3).toPrecision(3)}k` : n.toFixed(0));
  const hours = t.expectedRunTime / fps / 3600;
  const when = hours >= 48 ? `${(hours / 24).toPrecision(3)} days` : `${hours.toPrecision(3)} hours`;
  const margin = t.flagCountFrom === 'alpha' ? ` (drift.alpha ${drift.alpha})` : ` (fitted to a flag rate of ${(100 * t.flagRateBound).toFixed(2)} %)`;
  const flag = `window ${drift.window}, episode at ${t.criticalCount} flagged${margin} (alone a false one every ${frames(t.flagCountRunTime)} frames at p0)`;
  const kind = t.cusumKind === 'partial-shift' ? 'partial-shift p-value CUSUM' : 'p-value CUSUM';
  const cusum = t.cusumThreshold === undefined ? 'p-value CUSUM off' : `${kind} h ${t.cusumThreshold.toFixed(2)} (alone every ${frames(t.cusumRunTime!)} frames)`;
  return `a false episode every ${frames(t.expectedRunTime)} frames per source (${when} at ${fps} fps; drift.expectedRunTime ${drift.expectedRunTime}); ${flag}; ${cusum}`;
}
