/**
 * The evidence page in a real headless browser (Debian's Chromium), on a replay that drifts
 * (the default one: clothes, then digits, then clothes again):
 * - the real agent: its /evidence lists the open episode, and the episode's page its frames;
 * - the same replay through the real pipeline, scorer (with the compiled saliency head: the
 *   CAM of the model's last block), judging and evidence wiring, to the episode's end: the
 *   page shows every frame at its start and end with its overlay. Its
 *   screenshot is docs/img/evidence.png when EVIDENCE_SCREENSHOT names it
 *   (scripts/evidence-screenshot.sh).
 * Skipped, saying so, where chromium is not installed (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { openEvidence } from '../../src/agent/evidence-wiring.js';
import { featureStatsOf } from '../../src/calibration/calibration-file.js';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import { calibrationRef } from '../../src/calibration/calibration-identity.js';
import { loadConfig } from '../../src/config/load.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { driftMonitor } from '../../src/judging/drift-settings.js';
import { Judging } from '../../src/judging/judging.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { openModel } from '../../src/model/open-model.js';
import { runPipeline } from '../../src/stream/pipeline.js';
import { parsePhase, ReplaySource } from '../../src/stream/replay-source.js';
import { TelemetryServer } from '../../src/telemetry/http-server.js';
import { MetricsRegistry } from '../../src/telemetry/metrics.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const ROOT = resolve(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const run = promisify(execFile);

/** Headless Chromium: the DOM after load, and optionally a screenshot of the page (asynchronous: the server it asks is in this process). */
async function chromium(url: string, screenshot?: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'evidence-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`];
  try {
    if (screenshot) await run(CHROMIUM!, [...flags, '--window-size=1100,1560', `--screenshot=${screenshot}`, url], { timeout: 60_000 });
    return (await run(CHROMIUM!, [...flags, '--dump-dom', url], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })).stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const count = (dom: string, re: RegExp) => [...dom.matchAll(re)].length;

describe.skipIf(!CHROMIUM)('the evidence page in headless Chromium', () => {
  it("shows the real agent's open episode and its frames while the default replay drifts", async () => {
    const port = await freePort();
    const config = loadConfig({ env: { GAIA_TELEMETRY_PORT: String(port), GAIA_REPLAY_FPS: '150', GAIA_EXECUTION_PROVIDERS: 'cpu' } });
    // `run --json`'s records: the drift events the agent publishes, with their evidence link.
    let records = '';
    const agent = await Agent.create(config, { stdout: { write: (chunk: string) => (records += chunk) }, json: true, log: pino({ level: 'silent' }) });
    const running = agent.run();
    try {
      let id: string | undefined;
      for (let i = 0; i < 300 && id === undefined; i++) {
        await sleep(100);
        const html = await (await fetch(`http://127.0.0.1:${port}/evidence`)).text();
        id = /data-episode="([0-9a-f]{20})" data-state="open"/.exec(html)?.[1];
      }
      expect(id, 'an episode opens during the digits').toBeDefined();
      await sleep(500); // the thumbnails of the frozen frames are made off the hot path
      const list = await chromium(`http://127.0.0.1:${port}/evidence`);
      expect(list).toContain(`data-episode="${id}" data-state="open"`);
      expect(list).toContain('camera-1');
      const page = await chromium(`http://127.0.0.1:${port}/evidence/${id}`);
      // The ring when it opened: the 8 most anomalous of the last 500 frames, the digits that tipped it among them.
      expect(count(page, /class="frame" data-frame=/g)).toBe(config.evidence.framesPerSource);
      expect(count(page, /class="frame" data-frame="ood\//g)).toBeGreaterThanOrEqual(1);
      // Each frame twice on its episode's page: as the model saw it, and under its saliency overlay.
      expect(count(page, /<img class="frame" src="data:image\/jpeg/g)).toBe(2 * config.evidence.framesPerSource);
      expect(count(page, /<img class="overlay" src="data:image\/png;base64,/g)).toBe(config.evidence.framesPerSource);
      // Each tap's zero ratio against the bundled calibration's typical one.
      expect(page).toContain('typical zero ratio per tap (median of the calibration frames): 0.464 · 0.445 · 0.392 · 0.357 · 0.512');
      expect(page).toMatch(/zero ratio per tap: [\d.]+ <span class="muted">\([+−][\d.]+\)<\/span> · /);
      // The agent compiled the saliency head (the CAM of fmnist-cnn's last block): every frame has its map.
      expect(page).not.toContain('no saliency map');
      // One click from the alert: the drift-started event links to this very page.
      const started = records.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { value: { type?: string; evidenceUrl?: string } }).find((r) => r.value.type === 'drift-started');
      expect(started?.value.evidenceUrl).toBe(`http://127.0.0.1:${port}/evidence/${id}`);
    } finally {
      await agent.close();
      await running.catch(() => undefined);
    }
  }, 120_000);

  it('shows every frame with its saliency overlay once the batch carries maps, and saves the screenshot', async () => {
    const config = loadConfig({ env: { GAIA_TELEMETRY_PORT: '0', GAIA_EXECUTION_PROVIDERS: 'cpu' } });
    const pkg = await loadModelPackage(join(ROOT, 'models', 'fmnist-cnn'));
    // The calibration's verdict rule, as the agent judges (its Mahalanobis head needs the calibration's feature statistics).
    const calibrationPath = join(ROOT, 'calibration', 'fmnist-cnn.json');
    const featureStats = featureStatsOf(calibrationPath, JSON.parse(readFileSync(calibrationPath, 'utf8')));
    const opened = await openModel(pkg, {
      executionProviders: ['cpu'], requireGpu: false, intraOpThreads: config.runtime.intraOpThreads, taps: config.model.taps,
      heads: ['logits', 'gaia_z', 'msp', 'energy', 'mahalanobis', 'vim', 'gaia_z_ratios', 'saliency'], gaiaZMode: 'pattern', ...(featureStats ? { headSettings: { featureStats } } : {}),
    });
    const telemetry = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }) });
    try {
      const calibration = await loadCalibration(calibrationPath, { model: 'fmnist-cnn', fingerprint: opened.fingerprint });
      const evidence = openEvidence(config, pkg, opened.compiled.taps, telemetry, undefined)!;
      const judging = new Judging({
        model: 'fmnist-cnn', fingerprint: opened.fingerprint, labels: pkg.manifest.labels, numClasses: opened.scorer.numClasses,
        calibration: { judge: judgeOf(calibrationPath, calibration), ref: calibrationRef(calibration), ...(calibration.zeroRatios ? { zeroRatios: calibration.zeroRatios.taps } : {}) },
        drift: (p0) => driftMonitor(config.drift, p0), evidence,
      });
      const scorer = opened.scorer;
      const source = await ReplaySource.create({ phases: ['id', 'ood', 'id*2'].map((p) => parsePhase(join(SAMPLES, p))), source: 'camera-1', fps: 400 });
      await runPipeline({ source, pre: new Preprocessor(pkg.manifest, config.frames), maxBatch: 32, maxWaitMs: 5, highWaterMark: 128, scorer, judging, sinks: { publish: async () => undefined } });
      await sleep(1_000);
      const [episode] = evidence.index().episodes;
      expect(episode?.state).toBe('resolved');
      const url = `http://127.0.0.1:${telemetry.port}/evidence/${episode!.id}`;
      const dom = await chromium(url, process.env.EVIDENCE_SCREENSHOT ? resolve(process.env.EVIDENCE_SCREENSHOT) : undefined);
      const frames = count(dom, /class="frame" data-frame=/g);
      expect(frames).toBe(episode!.framesAtStart.length + episode!.framesAtEnd!.length);
      expect(frames).toBeGreaterThanOrEqual(2 * config.evidence.framesPerSource - 2);
      expect(count(dom, /<img class="overlay" src="data:image\/png;base64,/g)).toBe(frames);
      expect(dom).not.toContain('no saliency map');
      expect(dom).toMatch(/fired: <span class="fired">(gaia_z|energy|mahalanobis)<\/span>/);
    } finally {
      await telemetry.close();
      await opened.scorer.close();
    }
  }, 120_000);
});

it.runIf(!CHROMIUM)('needs chromium for the evidence page test (apt-get install chromium)', () => {
  console.warn('skipped: no chromium at /usr/bin/chromium; .ci/run installs it (apt-get install chromium)');
});
