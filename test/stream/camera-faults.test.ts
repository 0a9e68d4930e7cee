/**
 * The camera's own faults through the pipeline, with the real decoder, the real scorer, the
 * judging stage and the agent's metrics: twenty cameras, one of which sends 10% truncated
 * JPEGs, make one broken-frames episode naming that camera (and a per-source dead-letter
 * count); a camera whose stream froze (the same JPEG over and over) makes one frozen-frame
 * event, resolved when a different picture comes; a live camera on a still scene (sensor
 * noise) makes none. Every event validates against its JSON Schema.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertEvent, DeadLetter } from '../../src/contracts/events.js';
import type { InputMeasure } from '../../src/contracts/input-stats.js';
import type { SourceMessage } from '../../src/contracts/stream.js';
import { eventEnvelope } from '../../src/contracts/event-envelope.js';
import { DEFAULT_FROZEN } from '../../src/detect/camera-health.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { Judging } from '../../src/judging/judging.js';
import { openOfflineSession, type OfflineSession } from '../../src/offline/session.js';
import type { Scorer } from '../../src/runtime/scorer.js';
import { runPipeline } from '../../src/stream/pipeline.js';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';
import { OPENCV_DATA, rng } from '../helpers/camera-fault-frames.js';
import { assertValid } from '../helpers/contract.js';
import { ListSource } from '../helpers/list-source.js';

let session: OfflineSession;
let scene: { data: Buffer; width: number; height: number };

beforeAll(async () => {
  session = await openOfflineSession(loadConfig({ env: {}, overrides: { 'runtime.executionProviders': ['cpu'] } }));
  const { data, info } = await sharp(join(OPENCV_DATA, 'fruits.jpg')).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  scene = { data, width: info.width, height: info.height };
}, 60_000);
afterAll(async () => {
  await session.scorer.close();
});

/** A 320×240 JPEG of the scene at (x, y), with Gaussian-ish sensor noise of `noise` grey levels. */
async function shot(x: number, y: number, noise = 0, seed = 0): Promise<Buffer> {
  const img = sharp(scene.data, { raw: { width: scene.width, height: scene.height, channels: 3 } }).extract({ left: x, top: y, width: 320, height: 240 });
  if (noise === 0) return img.jpeg({ quality: 85 }).toBuffer();
  const pixels = Buffer.from(await img.raw().toBuffer());
  const random = rng(seed);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, pixels[i]! + Math.round(noise * (random() + random() + random() - 1.5) * 2)));
  return sharp(pixels, { raw: { width: 320, height: 240, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

const msg = (source: string, k: number, value: Buffer): SourceMessage => ({
  source,
  frameId: `${source}/${k}`,
  value,
  headers: { 'content-type': 'image/jpeg' },
  origin: { topic: 'frames', partition: 0, offset: String(k) },
});

async function run(messages: SourceMessage[], measureInput: InputMeasure = 'full') {
  const config = loadConfig({ env: { GAIA_CAMERA_BROKEN_WINDOW: '200' } });
  const registry = new MetricsRegistry();
  const metrics = new AgentMetrics(registry, { model: 'fmnist-cnn', allowSources: [], topKSources: 30 });
  const events: AlertEvent[] = [];
  const letters: DeadLetter[] = [];
  const judging = new Judging({
    labels: session.pkg.manifest.labels,
    numClasses: session.scorer.numClasses,
    model: 'fmnist-cnn',
    fingerprint: session.fingerprint,
    camera: { frozen: { ...DEFAULT_FROZEN, frames: config.camera.frozenFrames }, broken: { ...config.camera.brokenFrames } },
  });
  await runPipeline({
    source: new ListSource(messages),
    pre: new Preprocessor(session.pkg.manifest, config.frames),
    measureInput,
    scorer: session.scorer as Scorer,
    judging,
    sinks: { publish: async (out) => void (events.push(...out.events), letters.push(...out.letters)) },
    maxBatch: 16,
    maxWaitMs: 5,
    highWaterMark: 64,
    observer: { deadLetter: (d) => metrics.deadLetter(d), verdict: (r) => metrics.verdict(r), event: (e) => metrics.event(e) },
  });
  for (const e of events) {
    assertValid(e.type, JSON.parse(eventEnvelope(e, '/gaia-sentinel/test').value), `${e.type} of ${'source' in e ? e.source : e.model}`);
  }
  return { events, letters, metrics: await registry.metrics() };
}

describe('camera faults in the pipeline', () => {
  it('names the one camera of twenty that sends 10% truncated JPEGs, and no other', async () => {
    const random = rng(7);
    const messages: SourceMessage[] = [];
    for (let k = 0; k < 120; k++) {
      for (let c = 1; c <= 20; c++) {
        const source = `cam-${String(c).padStart(2, '0')}`;
        const jpeg = await shot(Math.floor(random() * (scene.width - 320)), Math.floor(random() * (scene.height - 240)));
        messages.push(msg(source, k, c === 7 && k % 10 === 3 ? jpeg.subarray(0, Math.floor(jpeg.length * 0.6)) : jpeg));
      }
    }
    const { events, letters, metrics } = await run(messages);
    expect(letters.filter((l) => l.key === 'cam-07')).toHaveLength(12);
    expect(letters.every((l) => l.key === 'cam-07' && l.reason === 'damaged')).toBe(true);
    const broken = events.filter((e) => e.type === 'broken-frames');
    expect(broken.map((e) => [e.source, e.type === 'broken-frames' && e.state])).toEqual([['cam-07', 'started']]);
    expect(events.filter((e) => e.type === 'frozen-frame')).toEqual([]);
    expect(metrics).toContain('gaia_dead_letters_total{reason="damaged",source="cam-07"} 12');
    expect(metrics).toContain('gaia_camera_fault_active{model="fmnist-cnn",source="cam-07",fault="broken"} 1');
  }, 120_000);

  // full: the second decode's hash and sharpness; frozen: the model's own 28×28 input tensor
  // (camera.inputStatistics auto with a rule without input heads), which must separate them too.
  it.each(['full', 'frozen'] as const)('measured %s: one frozen-frame event for a frozen stream, resolved by a new picture; none for a live camera on a still scene', async (measure) => {
    const frozen = await shot(100, 80);
    const messages: SourceMessage[] = [];
    for (let k = 0; k < 60; k++) messages.push(msg('cam-frozen', k, frozen));
    messages.push(msg('cam-frozen', 60, await shot(180, 200)));
    for (let k = 0; k < 60; k++) messages.push(msg('cam-still', k, await shot(100, 80, 2, k)));
    const { events, metrics } = await run(messages, measure);
    const seen = events.map((e) => ['source' in e ? e.source : '', e.type, 'state' in e ? e.state : '', 'count' in e ? e.count : 0]);
    expect(seen).toEqual([
      ['cam-frozen', 'frozen-frame', 'started', 30],
      ['cam-frozen', 'frozen-frame', 'resolved', 60],
    ]);
    expect(metrics).toContain('gaia_camera_fault_active{model="fmnist-cnn",source="cam-frozen",fault="frozen"} 0');
  }, 120_000);
});
