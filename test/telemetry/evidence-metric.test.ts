/** gaia_drift_evidence_info: one series per open episode with an evidence page, of labelled sources only, gone when the episode ends. */
import { expect, it } from 'vitest';
import type { DriftAlert } from '../../src/contracts/events.js';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';

const alert = (type: DriftAlert['type'], source: string, evidenceUrl?: string): DriftAlert => ({
  type, source, window: 500, flagged: 60, rate: 0.12, p0: 0.05, pValue: 1e-6, criticalCount: 52, ts: 1, model: 'm', modelFingerprint: 'f', calibration: null,
  trigger: { frameId: 'x' }, ...(evidenceUrl ? { evidenceUrl } : {}),
});
const series = async (registry: MetricsRegistry) => (await registry.metrics()).split('\n').filter((l) => l.startsWith('gaia_drift_evidence_info{'));

it('links each labelled source\'s open episode to its evidence page until the episode ends', async () => {
  const registry = new MetricsRegistry();
  const m = new AgentMetrics(registry, { model: 'fmnist-cnn', allowSources: ['cam-1', 'cam-2'], topKSources: 2 });
  m.driftEvent(alert('drift-started', 'cam-1', 'https://a.example/evidence/0123456789abcdef0123'));
  m.driftEvent(alert('drift-started', 'cam-2')); // evidence off: no link
  m.driftEvent(alert('drift-started', 'cam-9', 'https://a.example/evidence/ffff456789abcdef0123')); // no label of its own
  expect(await series(registry)).toEqual(['gaia_drift_evidence_info{model="fmnist-cnn",source="cam-1",url="https://a.example/evidence/0123456789abcdef0123"} 1']);
  m.driftEvent(alert('drift-resolved', 'cam-1', 'https://a.example/evidence/0123456789abcdef0123'));
  expect(await series(registry)).toEqual([]);
  m.driftEvent(alert('drift-started', 'cam-2', 'https://a.example/evidence/2222456789abcdef0123'));
  m.forgetSource('cam-2');
  expect(await series(registry)).toEqual([]);
});
