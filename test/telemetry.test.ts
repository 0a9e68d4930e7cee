/** Metrics on an injected registry, bounded source labels, and the HTTP endpoints on a real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictRecord } from '../src/stream/events.js';
import { TelemetryServer } from '../src/telemetry/http-server.js';
import { AgentMetrics, MetricsRegistry } from '../src/telemetry/metrics.js';
import { SourceLabels } from '../src/telemetry/source-labels.js';

const verdict = (source: string, flagged: boolean, score = 0.3): VerdictRecord => ({
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

describe('AgentMetrics', () => {
  it('counts frames by source and verdict, with scores, latency, batches and dead letters', async () => {
    const registry = new MetricsRegistry();
    const m = new AgentMetrics(registry, { allowSources: [], topKSources: 10, threshold: 0.25 });
    m.setModel('fmnist-cnn', 'abcdef0123456789abcdef', 'cpu', 0.05);
    m.verdict(verdict('cam-1', false), true, { rate: 0.04, active: false });
    m.verdict(verdict('cam-1', true), true, { rate: 0.2, active: true });
    m.batch(2, 0.012);
    m.deadLetter({ key: 'cam-2', frameId: 'x', value: new Uint8Array(), headers: {}, reason: 'undecodable', message: 'bad' });
    const text = await registry.metrics();
    expect(text).toContain('gaia_frames_total{source="cam-1",verdict="id"} 1');
    expect(text).toContain('gaia_frames_total{source="cam-1",verdict="ood"} 1');
    expect(text).toContain('gaia_frames_total{source="cam-2",verdict="error"} 1');
    expect(text).toContain('gaia_decode_errors_total{reason="undecodable"} 1');
    expect(text).toContain('gaia_drift_active{source="cam-1"} 1');
    expect(text).toContain('gaia_drift_rate{source="cam-1"} 0.2');
    expect(text).toContain('gaia_threshold 0.25');
    expect(text).toContain('gaia_baseline_flag_rate 0.05');
    expect(text).toContain('gaia_model_info{model="fmnist-cnn",fingerprint="abcdef0123456789",execution_provider="cpu"} 1');
    expect(text).toContain('gaia_score_bucket{le="0.25"} 0'); // a bucket edge sits on the threshold
    expect(text).toContain('gaia_end_to_end_latency_seconds_sum 0.08');
    expect(text).toContain('gaia_batch_size_count 1');
    expect(text).toMatch(/gaia_process_cpu_user_seconds_total/); // default process metrics
  });

  it('keeps the series bounded whatever the number of sources (10 000 cameras → top-K + other)', async () => {
    const registry = new MetricsRegistry();
    const m = new AgentMetrics(registry, { allowSources: [], topKSources: 50, threshold: 0.25 });
    for (let i = 0; i < 10_000; i++) m.verdict(verdict(`cam-${i}`, i % 7 === 0), true, { rate: 0.05, active: false });
    const text = await registry.metrics();
    const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;
    expect(series('gaia_frames_total')).toBeLessThanOrEqual(51 * 2);
    expect(series('gaia_drift_rate')).toBe(51);
    expect(text).toContain('source="other"');
  });
});

describe('AgentMetrics.forgetSource', () => {
  it("drops a source's series (moved or gone quiet) and frees its label slot, keeps the shared \"other\" series", async () => {
    const registry = new MetricsRegistry();
    const m = new AgentMetrics(registry, { allowSources: [], topKSources: 1 });
    m.verdict(verdict('cam-1', true), true, { rate: 0.3, active: true });
    m.verdict(verdict('cam-2', true), true, { rate: 0.3, active: true }); // beyond top-K: "other"
    m.forgetSource('cam-1');
    m.forgetSource('cam-2');
    const text = await registry.metrics();
    expect(text).not.toContain('gaia_drift_active{source="cam-1"}');
    expect(text).not.toContain('gaia_drift_rate{source="cam-1"}');
    // Its counts go too: the slot is reused, and series of every source ever seen would be unbounded.
    expect(text).not.toContain('gaia_frames_total{source="cam-1"');
    expect(text).toContain('gaia_drift_active{source="other"} 1');
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
    new AgentMetrics(registry, { allowSources: [], topKSources: 5 });
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
