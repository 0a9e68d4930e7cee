/**
 * The evidence endpoints on a real telemetry server: the index, an episode's page and its
 * JSON; hostile source and frame ids escaped; with a token, no token → 401, a wrong one →
 * 403, a token in the query string → 400 even when right; /metrics and the probes stay open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { episodeId } from '../../src/contracts/evidence.js';
import type { VerdictRecord } from '../../src/contracts/events.js';
import { Evidence } from '../../src/judging/evidence.js';
import { evidenceRoutes } from '../../src/telemetry/evidence-routes.js';
import { TelemetryServer } from '../../src/telemetry/http-server.js';
import { MetricsRegistry } from '../../src/telemetry/metrics.js';

const HOSTILE = `cam"><script>alert(1)</script><img src=x onerror=alert(2)>'&`;
const TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';

function evidenceWithEpisode(): Evidence {
  const ev = new Evidence({ model: 'fmnist<b>', framesPerSource: 4, sources: 4, recentEpisodes: 4, window: 100, baseUrl: 'http://agent', tapChannels: [1, 1] });
  const record: VerdictRecord = {
    topic: 'gaia.frames', partition: 3, offset: '1234', source: HOSTILE, frameId: `<svg onload=alert(3)>`, head: 'verdict', score: -12, flagged: true, pValue: 2e-4,
    pValues: { gaia_z: 2e-4, '<i>energy</i>': 0.4 }, predictedClass: '<b>Sandal</b>', confidence: 0.97, scoredAt: 1, model: 'm', modelFingerprint: 'f', calibration: null,
  };
  ev.observe({ source: HOSTILE, frameId: record.frameId, value: new Uint8Array(), headers: {}, origin: {} }, record, { size: 1, logits: new Float32Array(1), scores: { gaia_z_ratios: new Float32Array([0.5, 0.7]) } }, 0);
  ev.onDrift({ type: 'drift-started', source: HOSTILE, window: 500, flagged: 60, rate: 0.12, p0: 0.05, pValue: 1e-6, criticalCount: 52, ts: 1_796_000_000_000, statistic: 'flag-count' }, [0.45, 0.8]);
  return ev;
}

async function serve(token?: string): Promise<{ server: TelemetryServer; url: string }> {
  const server = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }) });
  server.mount(evidenceRoutes({ provider: evidenceWithEpisode(), ...(token ? { token } : {}) }));
  return { server, url: `http://127.0.0.1:${server.port}` };
}

const id = episodeId(HOSTILE, 1_796_000_000_000);

describe('evidence pages, open on loopback', () => {
  let s: { server: TelemetryServer; url: string };
  beforeAll(async () => (s = await serve()));
  afterAll(() => s.server.close());

  it('lists the episode and links its page, escaping every id from the stream', async () => {
    const res = await fetch(`${s.url}/evidence`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain(`href="/evidence/${id}"`);
    expect(html).not.toMatch(/<script|<img src=x|<svg|<b>Sandal|<i>energy/);
    expect(html).toContain('cam&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('&#60;b&#62;Sandal&#60;/b&#62;');
  });

  it("serves the episode's page and its JSON; an unknown or malformed id is a 404", async () => {
    const page = await (await fetch(`${s.url}/evidence/${id}`)).text();
    expect(page).toContain('partition 3 · offset 1234');
    expect(page).toContain('fired: <span class="fired">gaia_z</span>');
    // Each tap's zero ratio against the calibration's typical one.
    expect(page).toContain('typical zero ratio per tap (median of the calibration frames): 0.450 · 0.800');
    expect(page).toContain('zero ratio per tap: 0.500 <span class="muted">(+0.050)</span> · 0.700 <span class="muted">(−0.100)</span>');
    expect(page).not.toMatch(/<svg|<i>energy/);
    const json = (await (await fetch(`${s.url}/evidence/${id}.json`)).json()) as { episode: { source: string; framesAtStart: Array<{ offset: string }> } };
    expect(json.episode.source).toBe(HOSTILE);
    expect(json.episode.framesAtStart[0]!.offset).toBe('1234');
    for (const bad of ['0'.repeat(20), '..%2F..%2Fetc', `${id}x`]) expect((await fetch(`${s.url}/evidence/${bad}`)).status, bad).toBe(404);
  });

  it('keeps one source with ?source= (the alert links there)', async () => {
    const other = await (await fetch(`${s.url}/evidence?source=cam-2`)).text();
    expect(other).toContain('No drift episode yet');
    const mine = await (await fetch(`${s.url}/evidence?source=${encodeURIComponent(HOSTILE)}`)).text();
    expect(mine).toContain(`href="/evidence/${id}"`);
  });
});

describe('evidence pages behind a bearer token', () => {
  let s: { server: TelemetryServer; url: string };
  beforeAll(async () => (s = await serve(TOKEN)));
  afterAll(() => s.server.close());

  it('answer 401 without a token, 403 with a wrong one, and 200 with the right one', async () => {
    for (const path of ['/evidence', `/evidence/${id}`, `/evidence/${id}.json`]) {
      const none = await fetch(`${s.url}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expect(await none.text()).not.toContain('episode');
      expect((await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}0` } })).status, path).toBe(403);
      expect((await fetch(`${s.url}${path}`, { headers: { authorization: `Basic ${TOKEN}` } })).status, path).toBe(401);
      expect((await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, path).toBe(200);
    }
  });

  it('refuses a token in the query string, even the right one', async () => {
    for (const q of [`token=${TOKEN}`, `access_token=${TOKEN}`, `Token=${TOKEN}`]) {
      const res = await fetch(`${s.url}/evidence?${q}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, q).toBe(400);
      expect(await res.text()).toContain('Authorization: Bearer');
    }
  });

  it('leaves /metrics and the probes open', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) expect((await fetch(`${s.url}${path}`)).status, path).toBe(200);
  });
});
