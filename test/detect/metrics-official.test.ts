/**
 * The metric code against golden values computed the way the official GAIA metrics code
 * does (tools/reference/metrics_fixture.py: numpy, sklearn-style trapezoidal AUROC),
 * with heavy ties and the sample sizes where Python's half-to-even round() matters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auroc, fpr95, thresholdAtTpr95 } from '../../src/detect/metrics.js';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'metrics', 'official.json'), 'utf8')) as {
  cases: Array<{ name: string; id: number[]; ood: number[]; threshold: number; fpr95: number; auroc: number }>;
};

describe('metrics agree with the official definition', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      expect(thresholdAtTpr95(c.id)).toBe(c.threshold);
      expect(fpr95(c.id, c.ood)).toBeCloseTo(c.fpr95, 12);
      expect(auroc(c.id, c.ood)).toBeCloseTo(c.auroc, 10);
    });
  }
});
