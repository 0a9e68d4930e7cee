/**
 * FPR95 and AUROC as docs/DEFINITIONS.md defines them (ID-scores: higher = more in-distribution):
 * hand-checked on a small example, on ties and on perfect separation, and cross-checked
 * against a brute-force pair count on random data with many ties.
 */
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { auroc, fpr95, thresholdAtTpr95 } from '../../src/detect/metrics.js';

/** Mann–Whitney by definition: every (ID, OOD) pair, ID above counts 1, a tie 1/2. O(n·m). */
function bruteForceAuroc(id: ArrayLike<number>, ood: ArrayLike<number>): number {
  let wins = 0;
  for (let i = 0; i < id.length; i++) {
    for (let j = 0; j < ood.length; j++) {
      if (id[i]! > ood[j]!) wins += 1;
      else if (id[i] === ood[j]) wins += 0.5;
    }
  }
  return wins / (id.length * ood.length);
}

/** A seeded linear congruential generator, so the random cases are reproducible. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/*
 * The hand-checked example.
 *
 * ID (20 scores) = 1, 2, ..., 20, given shuffled so the functions must sort.
 * OOD (10 scores) = 0.5, 1.5, 2, 3.5, 5, 8, 12.5, 19, 21, 25 (three tie an ID score: 2, 5, 8, 19).
 *
 * Threshold: round(0.05 · 20) = 1, so t = sorted(ID)[1] = 2.
 * FPR95: OOD scores strictly above 2 are 3.5, 5, 8, 12.5, 19, 21, 25 → 7 of 10 = 0.7
 *        (the OOD score equal to t does not count).
 * AUROC: for each OOD score, the ID scores above it (+ 1/2 per tied ID score):
 *   0.5 → 20      1.5 → 19      2 → 18 + ½     3.5 → 17     5 → 15 + ½
 *   8 → 12 + ½    12.5 → 8      19 → 1 + ½     21 → 0       25 → 0
 *   sum = 112 of 20 · 10 = 200 pairs → AUROC = 0.56.
 */
const ID = [7, 19, 3, 12, 1, 20, 15, 5, 9, 14, 2, 18, 11, 6, 16, 4, 13, 10, 17, 8];
const OOD = [12.5, 0.5, 25, 2, 8, 1.5, 21, 3.5, 19, 5];

describe('thresholdAtTpr95', () => {
  it('is sorted(ID)[round(0.05·n)] on the hand-checked example', () => {
    expect(thresholdAtTpr95(ID)).toBe(2);
  });

  it('sorts numerically (negative and fractional scores, typed arrays) and leaves the input alone', () => {
    // GAIA-Z ID-scores are negated raw scores: all negative. A lexicographic sort would put
    // -10 after -1; the numeric order is -10, -2, -1, -0.5, ...
    const scores = new Float32Array([-0.5, -1, -10, -2, 3, 0.25, -0.75, 1, 2, 4]);
    const before = Array.from(scores);
    // n = 10: round(0.5) = 0 (Python's half-to-even, as the official code) → the smallest, -10.
    expect(thresholdAtTpr95(scores)).toBe(-10);
    expect(Array.from(scores)).toEqual(before);
  });

  it('uses the single score when there is one, and the last index never overflows', () => {
    expect(thresholdAtTpr95([0.3])).toBe(0.3);
    // n = 2: round(0.1) = 0 → the smallest.
    expect(thresholdAtTpr95([5, 4])).toBe(4);
  });

  it('picks index round(0.05·n) for n = 100 (index 5)', () => {
    const scores = Array.from({ length: 100 }, (_, i) => 99 - i); // 99 .. 0
    expect(thresholdAtTpr95(scores)).toBe(5);
  });

  it('throws a RangeError without ID scores', () => {
    expect(() => thresholdAtTpr95([])).toThrow(RangeError);
  });
});

describe('fpr95', () => {
  it('counts OOD scores strictly above the threshold on the hand-checked example', () => {
    expect(fpr95(ID, OOD)).toBe(0.7);
  });

  it('is 0 with perfect separation and 1 when every OOD score is above every ID score', () => {
    const id = Array.from({ length: 20 }, (_, i) => 10 + i);
    const low = Array.from({ length: 10 }, (_, i) => i);
    const high = Array.from({ length: 10 }, (_, i) => 100 + i);
    expect(fpr95(id, low)).toBe(0);
    expect(fpr95(id, high)).toBe(1);
  });

  it('does not count OOD scores tied with the threshold (all-equal scores give 0)', () => {
    expect(fpr95([1, 1, 1, 1], [1, 1, 1])).toBe(0);
  });

  it('throws a RangeError without ID scores', () => {
    expect(() => fpr95([], [1, 2])).toThrow(RangeError);
  });

  it('throws a RangeError without OOD scores (not 0/0 = NaN)', () => {
    expect(() => fpr95([1, 2, 3], [])).toThrow(RangeError);
  });
});

describe('auroc', () => {
  it('is the pair count 112/200 = 0.56 on the hand-checked example', () => {
    expect(auroc(ID, OOD)).toBeCloseTo(0.56, 12);
    expect(bruteForceAuroc(ID, OOD)).toBe(0.56);
  });

  it('counts a tied pair as one half', () => {
    // Pairs: (2 vs 1) wins, (2 vs 2) ½, (1 vs 1) ½, (1 vs 2) loses → 2 / 4.
    expect(auroc([1, 2], [1, 2])).toBe(0.5);
    // (3 vs 3) ½, (3 vs 1) 1, (5 vs 3) 1, (5 vs 1) 1 → 3.5 / 4.
    expect(auroc([3, 5], [3, 1])).toBe(0.875);
  });

  it('is 0.5 when every score is equal', () => {
    expect(auroc(new Array(17).fill(0.42), new Array(9).fill(0.42))).toBe(0.5);
  });

  it('is 1 with perfect separation and 0 with the reverse', () => {
    const id = [0.9, 0.8, 0.95, 0.7];
    const ood = [0.1, 0.2, 0.3];
    expect(auroc(id, ood)).toBe(1);
    expect(auroc(ood, id)).toBe(0);
  });

  it('is symmetric: swapping the classes gives 1 − AUROC', () => {
    expect(auroc(OOD, ID)).toBeCloseTo(1 - 0.56, 12);
  });

  it('matches a brute-force pair count on seeded random data with many ties', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = rng(seed);
      const n = 50 + Math.floor(next() * 250);
      const m = 30 + Math.floor(next() * 200);
      // One decimal: at most 11 (ID) or 13 (OOD) distinct values, so almost every pair
      // has a tie group; the OOD set is shifted so the AUROC is not near 0.5.
      const id = Float32Array.from({ length: n }, () => Math.round(next() * 10) / 10);
      const ood = Float64Array.from({ length: m }, () => Math.round((next() * 1.2 - 0.3) * 10) / 10);
      expect(auroc(id, ood)).toBeCloseTo(bruteForceAuroc(id, ood), 12);
    }
  });

  it('throws a RangeError when either set is empty', () => {
    expect(() => auroc([], [1])).toThrow(RangeError);
    expect(() => auroc([1], [])).toThrow(RangeError);
    expect(() => auroc([], [])).toThrow(RangeError);
  });

  // auroc() once looped forever on a NaN score (its tie-group scan never advanced), and a
  // synchronous infinite loop cannot be stopped by the test timeout: these cases run in a
  // worker thread that is terminated after 2 s, so a regression fails instead of hanging.
  it.each([
    ['auroc, NaN among the OOD scores', 'auroc', [1, 2], [0, Number.NaN]],
    ['auroc, NaN among the ID scores', 'auroc', [Number.NaN, 1, 2], [0, 1.5]],
    ['fpr95, NaN among the OOD scores', 'fpr95', [1, 2, 3], [Number.NaN]],
    ['fpr95, NaN among the ID scores', 'fpr95', [1, Number.NaN, 3], [0.5]],
    ['thresholdAtTpr95, NaN score', 'thresholdAtTpr95', [Number.NaN, 1, 2], []],
  ] as const)('refuses NaN scores with a RangeError, promptly (%s)', async (_, fn, id, ood) => {
    const outcome = await runMetricInWorker(fn, [...id], [...ood], 2000);
    expect(outcome).toEqual({ threw: 'RangeError', message: expect.stringMatching(/NaN/) });
  });
});

/**
 * Runs one function of src/detect/metrics.ts (transpiled to CommonJS; it imports nothing)
 * in a worker thread: what it threw, what it returned, or 'timeout'.
 */
async function runMetricInWorker(
  fn: 'auroc' | 'fpr95' | 'thresholdAtTpr95',
  id: number[],
  ood: number[],
  timeoutMs: number,
): Promise<{ threw: string; message: string } | { returned: number } | 'timeout'> {
  const source = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'detect', 'metrics.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const module = { exports: {} };
    (function (exports, module) { ${js} })(module.exports, module);
    const { fn, id, ood } = workerData;
    try {
      const value = fn === 'thresholdAtTpr95' ? module.exports[fn](id) : module.exports[fn](id, ood);
      parentPort.postMessage({ returned: value });
    } catch (err) {
      parentPort.postMessage({ threw: err.name, message: err.message });
    }
  `;
  const worker = new Worker(code, { eval: true, workerData: { fn, id, ood } });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      worker.once('message', (m: { threw: string; message: string } | { returned: number }) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    await worker.terminate();
  }
}
