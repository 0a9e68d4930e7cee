/**
 * Evidence stays bounded: 10,000 distinct sources and a 10-minute drifting replay keep the
 * process's RSS and the /evidence page size flat (docs/BENCHMARKS.md, "Evidence bounds").
 *
 *   npm run build && node --expose-gc dist/bench/evidence-bounds.js [--minutes 10] [--sources 10000] [--cameras 20] [--fps 30] [--churn 400] [--every 30]
 *
 * The real parts: the bundled model scores its sample frames once (the verdict rule of its
 * calibration judges them), and those verdicts are then replayed through the agent's
 * Judging with its drift monitor and the evidence wiring of a default configuration
 * (thumbnails of the real frame bytes made by sharp; pages served by the real telemetry
 * server). Frame time runs for --minutes: --cameras cameras send --fps frames per second
 * each, cycling 60 s of clothes (ID) and 30 s of digits (OOD, a drift episode each time);
 * beside them --churn frames per second come from --sources distinct source ids in turn
 * (each id every sources/churn seconds). Every --every seconds of frame time: RSS (after a
 * GC) and the JS heap in use, the size of /evidence and of the newest episode's page, open and ended episodes, and
 * the sources whose frames are kept. Prints a Markdown table and the growth after warm-up.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEvidence } from '../src/agent/evidence-wiring.js';
import { featureStatsOf } from '../src/calibration/calibration-file.js';
import { judgeOf, loadCalibration } from '../src/calibration/calibration-check.js';
import { calibrationRef } from '../src/calibration/calibration-identity.js';
import { loadConfig } from '../src/config/load.js';
import type { SourceMessage } from '../src/contracts/stream.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { driftMonitor } from '../src/judging/drift-settings.js';
import { Judging } from '../src/judging/judging.js';
import { loadModelPackage } from '../src/model/manifest.js';
import { openModel } from '../src/model/open-model.js';
import type { ScoreBatch } from '../src/runtime/scorer.js';
import { TelemetryServer } from '../src/telemetry/http-server.js';
import { MetricsRegistry } from '../src/telemetry/metrics.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    sources: { type: 'string', default: '10000' },
    cameras: { type: 'string', default: '20' },
    fps: { type: 'string', default: '30' },
    churn: { type: 'string', default: '400' },
    every: { type: 'string', default: '30' },
  },
});
const [minutes, sources, cameras, fps, churn, every] = [values.minutes, values.sources, values.cameras, values.fps, values.churn, values.every].map(Number) as [number, number, number, number, number, number];

interface Frame {
  readonly bytes: Uint8Array;
  readonly name: string;
}

/** One scored frame, kept to be replayed: its row of every per-frame output. */
interface Scored extends Frame {
  readonly logits: Float32Array;
  readonly scores: Record<string, Float32Array>;
}

const config = loadConfig({ env: { GAIA_TELEMETRY_PORT: '0', GAIA_EXECUTION_PROVIDERS: 'cpu' } });
const pkg = await loadModelPackage(config.model.dir);
const calibrationPath = join(pkg.dir, '..', '..', 'calibration', `${pkg.manifest.name}.json`);
const files = (dir: string) => readdirSync(join(pkg.dir, 'samples', dir)).sort().map((n) => ({ name: `${dir}/${n}`, bytes: readFileSync(join(pkg.dir, 'samples', dir, n)) }));
const [idFrames, oodFrames] = [files('id'), files('ood')];

// Score every sample frame once with the real model and verdict rule.
const raw = JSON.parse(readFileSync(calibrationPath, 'utf8'));
const featureStats = featureStatsOf(calibrationPath, raw);
const opened = await openModel(pkg, {
  executionProviders: ['cpu'], requireGpu: false, intraOpThreads: config.runtime.intraOpThreads, taps: config.model.taps,
  heads: ['logits', 'gaia_z', 'msp', 'energy', 'mahalanobis', 'gaia_z_ratios'], gaiaZMode: 'pattern', ...(featureStats ? { headSettings: { featureStats } } : {}),
});
const calibration = await loadCalibration(calibrationPath, { model: pkg.manifest.name, fingerprint: opened.fingerprint });
const pre = new Preprocessor(pkg.manifest, config.frames);
async function score(frames: Frame[]): Promise<Scored[]> {
  const per = pre.elementsPerFrame;
  const out: Scored[] = [];
  for (let at = 0; at < frames.length; at += 64) {
    const chunk = frames.slice(at, at + 64);
    const input = new Float32Array(chunk.length * per);
    await Promise.all(chunk.map((f, i) => pre.decodeInto(f.bytes, input.subarray(i * per, (i + 1) * per))));
    const b = await opened.scorer.score(input, chunk.length);
    const k = b.logits.length / b.size;
    chunk.forEach((f, i) => {
      const scores = Object.fromEntries(Object.entries(b.scores).map(([h, v]) => [h, v.slice((i * v.length) / b.size, ((i + 1) * v.length) / b.size)]));
      out.push({ ...f, logits: b.logits.slice(i * k, (i + 1) * k), scores });
    });
  }
  return out;
}
const [id, ood] = [await score(idFrames), await score(oodFrames)];

const telemetry = await TelemetryServer.create({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry(), readiness: () => ({ ready: true, detail: {} }) });
const evidence = openEvidence(config, pkg, opened.compiled.taps, telemetry, undefined)!;
const judging = new Judging({
  model: pkg.manifest.name, fingerprint: opened.fingerprint, labels: pkg.manifest.labels, numClasses: opened.scorer.numClasses,
  calibration: { judge: judgeOf(calibrationPath, calibration), ref: calibrationRef(calibration) }, drift: (p0) => driftMonitor(config.drift, p0), evidence,
});

/** The frames of one second of frame time, as one batch. */
function batchOf(frames: Array<{ source: string; frame: Scored; offset: number }>): ScoreBatch {
  const heads = Object.keys(frames[0]!.frame.scores);
  const concat = (rows: Float32Array[]) => {
    const out = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) out.set(r, (at += r.length) - r.length);
    return out;
  };
  return { size: frames.length, logits: concat(frames.map((f) => f.frame.logits)), scores: Object.fromEntries(heads.map((h) => [h, concat(frames.map((f) => f.frame.scores[h]!))])) };
}

const base = `http://127.0.0.1:${telemetry.port}`;
const t0 = Date.parse('2026-12-01T00:00:00Z');
const rows: string[] = [];
const samples: Array<{ rss: number; heap: number; page: number }> = [];
let offset = 0;
let churned = 0;
let judged = 0;
const started = performance.now();
for (let second = 0; second < minutes * 60; second++) {
  const frames: Array<{ source: string; frame: Scored; offset: number }> = [];
  for (let c = 0; c < cameras; c++) {
    // Each camera: 60 s of clothes, then 30 s of digits, shifted by 4.5 s per camera.
    const drifting = (second + c * 4.5) % 90 >= 60;
    const pool = drifting ? ood : id;
    for (let f = 0; f < fps; f++) frames.push({ source: `camera-${c}`, frame: pool[(second * fps + f + c * 7) % pool.length]!, offset: offset++ });
  }
  for (let j = 0; j < churn; j++) frames.push({ source: `junk-${churned++ % sources}`, frame: id[(churned * 13) % id.length]!, offset: offset++ });
  const ts = t0 + second * 1000;
  const messages: SourceMessage[] = frames.map((f) => ({ source: f.source, frameId: f.frame.name, value: f.frame.bytes, headers: {}, ts, origin: { topic: 'gaia.frames', partition: 0, offset: String(f.offset) } }));
  judging.judge(messages, batchOf(frames), ts);
  judged += frames.length;
  // Let the thumbnails land before the next second, as they would between frames at these rates.
  while (evidence.pendingImages > 0) await new Promise((r) => setTimeout(r, 1));
  if ((second + 1) % every === 0) {
    await new Promise((r) => setTimeout(r, 50));
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const [rss, heap] = [memory.rss / 2 ** 20, memory.heapUsed / 2 ** 20];
    const page = (await (await fetch(`${base}/evidence`)).arrayBuffer()).byteLength;
    const index = evidence.index();
    const newest = index.episodes[0];
    const episodePage = newest ? (await (await fetch(`${base}/evidence/${newest.id}`)).arrayBuffer()).byteLength : 0;
    const open = index.episodes.filter((e) => e.state === 'open').length;
    samples.push({ rss, heap, page });
    rows.push(`| ${((second + 1) / 60).toFixed(1)} | ${judged} | ${rss.toFixed(1)} | ${heap.toFixed(1)} | ${(page / 1024).toFixed(1)} | ${(episodePage / 1024).toFixed(1)} | ${open} | ${index.episodes.length - open} | ${index.sourcesKept} | ${evidence.imagesMade} | ${evidence.skippedImages} |`);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`${judged} frames (${cameras} cameras at ${fps} fps, ${sources} distinct churning sources at ${churn} frames/s) over ${minutes} min of frame time, judged in ${seconds.toFixed(1)} s; evidence.sources ${config.evidence.sources}, framesPerSource ${config.evidence.framesPerSource}, recentEpisodes ${config.evidence.recentEpisodes}\n`);
console.log('| frame time (min) | frames judged | RSS (MiB) | JS heap used (MiB) | /evidence (KiB) | newest episode page (KiB) | open episodes | ended episodes kept | sources keeping frames | images made | images skipped (queue full) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
const warm = samples.slice(Math.floor(samples.length / 4));
const span = (k: 'rss' | 'heap' | 'page') => Math.max(...warm.map((s) => s[k])) - Math.min(...warm.map((s) => s[k]));
console.log(`\nafter the first quarter: RSS within ${span('rss').toFixed(1)} MiB, JS heap within ${span('heap').toFixed(1)} MiB, /evidence within ${(span('page') / 1024).toFixed(1)} KiB`);
await telemetry.close();
await opened.scorer.close();
