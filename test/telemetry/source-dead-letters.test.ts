/**
 * Per-source dead letters: one camera of twenty that sends 10% truncated JPEGs shows as that
 * camera in gaia_dead_letters_total and gaia_damaged_frames_total, the label bounded as every
 * per-source label (beyond the top-K, "other"), and forgetting the source removes its series.
 */
import { describe, expect, it } from 'vitest';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';

const letter = (key: string, k: number) => ({ key, frameId: `${key}-${k}`, value: new Uint8Array(), headers: {}, reason: 'damaged', message: 'cut short' });

describe('dead letters per source', () => {
  it('names the one bad camera of twenty, bounds the label, and forgets it with its source', async () => {
    const registry = new MetricsRegistry();
    const m = new AgentMetrics(registry, { model: 'fmnist-cnn', allowSources: [], topKSources: 20 });
    for (let k = 0; k < 100; k++) {
      for (let c = 1; c <= 20; c++) {
        const source = `cam-${String(c).padStart(2, '0')}`;
        if (c === 7 && k % 10 === 0) {
          m.damagedFrame({ source }, { kind: 'truncated', action: 'dead-letter', detail: 'cut short' });
          m.deadLetter(letter(source, k));
        } else {
          m.verdict({ source, frameId: `${source}-${k}`, head: 'verdict', score: 0, flagged: false, predictedClass: 'Bag', confidence: 1, scoredAt: 0, model: 'fmnist-cnn', modelFingerprint: 'f', calibration: null }, false);
        }
      }
    }
    // A 21st camera has no slot left: it shares "other".
    m.deadLetter(letter('cam-21', 0));
    let text = await registry.metrics();
    expect(text.match(/^gaia_dead_letters_total\{.*$/gm)).toEqual(['gaia_dead_letters_total{reason="damaged",source="cam-07"} 10', 'gaia_dead_letters_total{reason="damaged",source="other"} 1']);
    expect(text).toContain('gaia_damaged_frames_total{reason="truncated",action="dead-letter",source="cam-07"} 10');
    m.forgetSource('cam-07');
    text = await registry.metrics();
    expect(text).not.toContain('source="cam-07"');
    expect(text).toContain('gaia_dead_letters_total{reason="damaged",source="other"} 1');
  });
});
