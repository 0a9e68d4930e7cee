/** Metrics on an injected registry, bounded source labels, and the HTTP endpoints on a real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import type { VerdictRecord } from '../../src/contracts/events.js';
import { TelemetryServer } from '../../src/telemetry/http-server.js';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';
import { SourceLabels } from '../../src/telemetry/source-labels.js';

const verdict = (source: string, flagged: boolean, score = 0.3): VerdictRecord => ({
  head: 'gaia_z',
  source,
  frameId: 'f',
  score,
  flagged,
  predictedClass: 'Bag',
  confidence: 0.9,
  capturedAt: 1000,
  model: 'm',
  modelFingerprint: '0'.repeat(64),
  calibration: null,
  scoredAt: 1040,
});

const CLASSES = ['Bag', 'Coat'];
const metricsFor = (registry: MetricsRegistry, topKSources = 10) => new AgentMetrics(registry, { model: 'fmnist-cnn', classes: CLASSES, allowSources: [], topKSources, version: '9.9.9' });
const calibrated = { rawThreshold: 0.25, flagRate: 0.05, fingerprint: 'c0ffee0123456789c0ffee' };
/** Every series of a metric (lines starting with the name and a label set), from the text format. */
const seriesOf = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('AgentMetrics', () => {
  it('reports the drift alarms\' expected run time once a drift monitor is watched, and nothing before', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    expect(seriesOf(await registry.metrics(), 'gaia_drift_expected_run_time_frames')).toEqual([]);
    m.watchDrift(() => undefined, () => 18_231_243);
    expect(seriesOf(await registry.metrics(), 'gaia_drift_expected_run_time_frames')).toEqual(['gaia_drift_expected_run_time_frames{model="fmnist-cnn"} 18231243']);
  });

  it('counts scored frames by source and verdict, with score ratios, latency, batches and the calibration', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    m.setModel('abcdef0123456789abcdef', 'cpu');
    m.setCalibration(calibrated);
    m.verdict(verdict('cam-1', false), true, { rate: 0.04, active: false });
    m.verdict(verdict('cam-1', true), true, { rate: 0.2, active: true });
    m.batch(2, 0.012);
    const text = await registry.metrics();
    expect(text).toContain('gaia_frames_total{model="fmnist-cnn",source="cam-1",verdict="id"} 1');
    expect(text).toContain('gaia_frames_total{model="fmnist-cnn",source="cam-1",verdict="ood"} 1');
    expect(text).toContain('gaia_drift_active{model="fmnist-cnn",source="cam-1"} 1');
    expect(text).toContain('gaia_drift_ratio{model="fmnist-cnn",source="cam-1"} 0.2');
    expect(text).toContain('gaia_threshold{model="fmnist-cnn"} 0.25');
    expect(text).toContain('gaia_baseline_flag_ratio{model="fmnist-cnn"} 0.05');
    expect(text).toContain('gaia_calibration_loaded{model="fmnist-cnn"} 1');
    expect(text).toContain('gaia_calibration_info{model="fmnist-cnn",fingerprint="c0ffee0123456789"} 1');
    expect(text).toContain('gaia_model_info{model="fmnist-cnn",fingerprint="abcdef0123456789",execution_provider="cpu"} 1');
    expect(text).toContain('gaia_build_info{version="9.9.9"} 1');
    // Score 0.3 at threshold 0.25 is 1.2 thresholds: in the 1.2 bucket, not in the 1.1 one (fixed edges).
    expect(text).toContain('gaia_score_threshold_ratio_bucket{le="1.1",model="fmnist-cnn"} 0');
    expect(text).toContain('gaia_score_threshold_ratio_bucket{le="1.2",model="fmnist-cnn"} 2');
    expect(text).toContain('gaia_end_to_end_latency_seconds_sum 0.08');
    expect(text).toContain('gaia_batch_size_count 1');
  });

  it('exposes the standard unprefixed process and Node.js metrics, without the misnamed *_total gauges', async () => {
    const registry = new MetricsRegistry();
    metricsFor(registry);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).not.toContain('gaia_process_');
    // The total is the sum of the per-type gauge, which stays.
    expect(text).toContain('# TYPE nodejs_active_handles gauge');
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
  });

  it('counts a rejected frame once: in gaia_dead_letters_total by reason, not as a scored frame', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    m.deadLetter({ key: 'cam-2', frameId: 'x', value: new Uint8Array(), headers: {}, reason: 'undecodable', message: 'bad' });
    const text = await registry.metrics();
    expect(text).toContain('gaia_dead_letters_total{reason="undecodable",source="cam-2"} 1');
    expect(seriesOf(text, 'gaia_frames_total')).toEqual([]);
    expect(text).not.toContain('gaia_decode_errors_total');
  });

  it('counts predictions per class of the model, any other value as "other", and per verdict', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    m.verdict({ ...verdict('cam-1', false), predictedClass: 'Coat' }, true);
    m.verdict({ ...verdict('cam-1', true), predictedClass: 'Coat' }, true);
    m.verdict({ ...verdict('cam-1', false), predictedClass: 'a hostile or unknown label' }, false);
    const text = await registry.metrics();
    expect(seriesOf(text, 'gaia_predictions_total').sort()).toEqual([
      'gaia_predictions_total{model="fmnist-cnn",class="Coat",verdict="id"} 1',
      'gaia_predictions_total{model="fmnist-cnn",class="Coat",verdict="ood"} 1',
      'gaia_predictions_total{model="fmnist-cnn",class="other",verdict="unjudged"} 1',
    ]);
  });

  it('setCalibration replaces the calibration gauges, and clears them when the calibration goes (no stale threshold)', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    let text = await registry.metrics();
    expect(text).toContain('gaia_calibration_loaded{model="fmnist-cnn"} 0');
    expect(seriesOf(text, 'gaia_threshold')).toEqual([]);
    m.verdict(verdict('cam-1', false));
    m.setCalibration(calibrated);
    m.verdict(verdict('cam-1', false));
    m.setCalibration({ rawThreshold: 0.3, flagRate: 0.04, fingerprint: 'feed00000000000000' });
    m.verdict(verdict('cam-1', true));
    text = await registry.metrics();
    expect(seriesOf(text, 'gaia_threshold')).toEqual(['gaia_threshold{model="fmnist-cnn"} 0.3']);
    expect(seriesOf(text, 'gaia_baseline_flag_ratio')).toEqual(['gaia_baseline_flag_ratio{model="fmnist-cnn"} 0.04']);
    expect(seriesOf(text, 'gaia_calibration_info')).toEqual(['gaia_calibration_info{model="fmnist-cnn",fingerprint="feed000000000000"} 1']);
    // Without a calibration frames are unjudged; with one, judged against the threshold of the moment.
    expect(text).toContain('gaia_frames_total{model="fmnist-cnn",source="cam-1",verdict="unjudged"} 1');
    expect(text).toContain('gaia_frames_total{model="fmnist-cnn",source="cam-1",verdict="id"} 1');
    expect(text).toContain('gaia_frames_total{model="fmnist-cnn",source="cam-1",verdict="ood"} 1');
    expect(text).toContain('gaia_score_threshold_ratio_bucket{le="1",model="fmnist-cnn"} 1'); // 0.3 / 0.3
    expect(text).toContain('gaia_score_threshold_ratio_count{model="fmnist-cnn"} 2');
    m.setCalibration(undefined);
    text = await registry.metrics();
    expect(text).toContain('gaia_calibration_loaded{model="fmnist-cnn"} 0');
    expect(seriesOf(text, 'gaia_threshold')).toEqual([]);
    expect(seriesOf(text, 'gaia_baseline_flag_ratio')).toEqual([]);
    expect(seriesOf(text, 'gaia_calibration_info')).toEqual([]);
  });

  it('reports the queues on each scrape, backpressure pauses and delivery failures by stage', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    let queue = { decoding: 3, scoring: 40, delivering: 16 };
    m.watchQueue(() => queue);
    m.sourcePaused(true);
    m.deliveryFailed(new Error('refused'), 'commit');
    m.commitFailed();
    let text = await registry.metrics();
    expect(text).toContain('gaia_pipeline_queued_frames{stage="decoding"} 3');
    expect(text).toContain('gaia_pipeline_queued_frames{stage="scoring"} 40');
    expect(text).toContain('gaia_pipeline_queued_frames{stage="delivering"} 16');
    expect(text).toContain('gaia_source_paused 1');
    expect(text).toContain('gaia_delivery_failures_total{stage="commit"} 1');
    expect(text).toContain('gaia_delivery_failures_total{stage="publish"} 0');
    expect(text).toContain('gaia_commit_failures_total 1');
    queue = { decoding: 0, scoring: 2, delivering: 0 };
    m.sourcePaused(false);
    text = await registry.metrics();
    expect(text).toContain('gaia_pipeline_queued_frames{stage="scoring"} 2');
    expect(text).toContain('gaia_source_paused 0');
    expect(text).toContain('gaia_source_pauses_total 1');
  });

  it('passes promtool check metrics with every metric populated', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry);
    m.setModel('abcdef0123456789abcdef', 'cpu');
    m.setCalibration(calibrated);
    m.watchLag(() => new Map([[0, 12]]));
    m.watchQueue(() => ({ decoding: 1, scoring: 2, delivering: 3 }));
    m.watchReady(() => true);
    m.verdict(verdict('cam-1', true), true, { rate: 0.2, active: true });
    m.batch(1, 0.01);
    m.sourcePaused(true);
    m.deadLetter({ key: 'cam-2', frameId: 'x', value: new Uint8Array(), headers: {}, reason: 'undecodable', message: 'bad' });
    const r = promtoolCheckMetrics(await registry.metrics());
    expect(r.status, r.out).toBe(0);
    expect(r.out).toBe('');
  });

  it('keeps the series bounded whatever the number of sources (10 000 cameras → top-K + other)', async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry, 50);
    m.setCalibration(calibrated);
    for (let i = 0; i < 10_000; i++) m.verdict(verdict(`cam-${i}`, i % 7 === 0), true, { rate: 0.05, active: false });
    const text = await registry.metrics();
    expect(seriesOf(text, 'gaia_frames_total').length).toBeLessThanOrEqual(51 * 2);
    expect(seriesOf(text, 'gaia_drift_ratio')).toHaveLength(51);
    expect(text).toContain('source="other"');
  });
});

describe('AgentMetrics.forgetSource', () => {
  it("drops a source's series (moved or gone quiet) and frees its label slot, keeps the shared \"other\" series", async () => {
    const registry = new MetricsRegistry();
    const m = metricsFor(registry, 1);
    m.verdict(verdict('cam-1', true), true, { rate: 0.3, active: true });
    m.verdict(verdict('cam-2', true), true, { rate: 0.3, active: true }); // beyond top-K: "other"
    m.forgetSource('cam-1');
    m.forgetSource('cam-2');
    const text = await registry.metrics();
    expect(text).not.toContain('source="cam-1"');
    // Its counts go too: the slot is reused, and series of every source ever seen would be unbounded.
    expect(text).toContain('gaia_drift_active{model="fmnist-cnn",source="other"} 1');
  });
});

describe('SourceLabels', () => {
  it('labels only allow-listed sources when there is a list', () => {
    const l = new SourceLabels(['dock-1', 'dock-2'], 50);
    expect(['dock-1', 'gate', 'dock-2'].map((s) => l.label(s))).toEqual(['dock-1', 'other', 'dock-2']);
  });
});

describe('TelemetryServer', () => {
  let server: TelemetryServer;
  let ready = false;
  const registry = new MetricsRegistry();
  beforeAll(async () => {
    metricsFor(registry, 5);
    server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry, readiness: () => ({ ready, detail: { source: 'test' } }) });
  });
  afterAll(() => server.close());
  const get = (path: string, method = 'GET') => fetch(`http://127.0.0.1:${server.port}${path}`, { method });

  it('serves /metrics in the Prometheus text format', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(await r.text()).toContain('# TYPE gaia_frames_total counter');
  });

  it('answers /healthz, and /readyz as readiness changes', async () => {
    expect((await get('/healthz')).status).toBe(200);
    ready = false;
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, source: 'test' });
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
  });

  it('refuses other paths and methods', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/metrics', 'POST')).status).toBe(405);
  });
});

describe('TelemetryServer under idle and slow clients (issue #10, defect 8)', () => {
  it('holds at most maxConnections sockets, drops silent and slow-loris clients after requestTimeoutMs, and still answers', async () => {
    const { connect } = await import('node:net');
    const registry = new MetricsRegistry();
    const server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry, readiness: () => ({ ready: true, detail: {} }), maxConnections: 16, requestTimeoutMs: 1_000 });
    const sockets: import('node:net').Socket[] = [];
    const closed = new Set<number>();
    try {
      // 100 idle sockets and 10 slow-loris clients (a header line every 300 ms, never the end).
      for (let i = 0; i < 110; i++) {
        const s = connect(server.port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => closed.add(i));
        sockets.push(s);
      }
      const loris = sockets.slice(100).map((s) => {
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
        return setInterval(() => s.write('X-a: b\r\n'), 300);
      });
      await new Promise((r) => setTimeout(r, 500));
      // Over the limit: refused at once (before: all 110 were held).
      expect(closed.size).toBeGreaterThanOrEqual(110 - 16);
      await new Promise((r) => setTimeout(r, 2_500));
      loris.forEach(clearInterval);
      // Within the request timeout (and a check interval): every one of them is gone.
      expect(closed.size).toBe(110);
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  it('answers /healthz 503 when liveness says the agent is broken', async () => {
    const registry = new MetricsRegistry();
    const server = await TelemetryServer.create({
      host: '127.0.0.1',
      port: 0,
      registry,
      readiness: () => ({ ready: false, detail: {} }),
      liveness: () => ({ live: false, detail: { scorer: 'dead' } }),
    });
    try {
      const r = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ status: 'broken', scorer: 'dead' });
    } finally {
      await server.close();
    }
  });
});
