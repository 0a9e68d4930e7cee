/**
 * Damaged frames through the pipeline, with the real scorer and the agent's metrics: a JPEG
 * cut in half and one with its body overwritten are counted whatever frames.damaged says,
 * and dead-lettered as `damaged` (the default) or scored (`score`), as it says.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { DeadLetter } from '../../src/contracts/events.js';
import type { FrameDamage, SourceMessage } from '../../src/contracts/stream.js';
import { Preprocessor, type DamagedPolicy } from '../../src/frames/preprocess.js';
import { Judging } from '../../src/judging/judging.js';
import { openOfflineSession, type OfflineSession } from '../../src/offline/session.js';
import type { Scorer } from '../../src/runtime/scorer.js';
import { runPipeline, type PipelineStats } from '../../src/stream/pipeline.js';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';
import { ListSource } from '../helpers/list-source.js';

const SAMPLES = 'models/fmnist-cnn/samples/id';
let session: OfflineSession;
let good: SourceMessage[];
let damaged: SourceMessage[];

const message = (frameId: string, value: Uint8Array, offset: number): SourceMessage => ({
  source: 'cam',
  frameId,
  value,
  headers: { 'content-type': 'image/jpeg' },
  origin: { topic: 'frames', partition: 0, offset: String(offset) },
});

beforeAll(async () => {
  session = await openOfflineSession(loadConfig({ env: {}, overrides: { 'runtime.executionProviders': ['cpu'] } }));
  const names = readdirSync(SAMPLES).filter((n) => n.endsWith('.png')).sort().slice(0, 6);
  good = names.map((n, i) => ({ ...message(n, readFileSync(join(SAMPLES, n)), i), headers: { 'content-type': 'image/png' } }));
  // A camera-sized JPEG of a sample frame, cut in half, and with 1 KiB of its scan overwritten.
  const jpeg = await sharp(readFileSync(join(SAMPLES, names[0]!))).resize(320, 320).jpeg({ quality: 90 }).toBuffer();
  const corrupt = Buffer.from(jpeg);
  const middle = jpeg.indexOf(Buffer.from([0xff, 0xda])) + ((jpeg.length - jpeg.indexOf(Buffer.from([0xff, 0xda]))) >> 1);
  for (let i = 0; i < 1024; i++) corrupt[middle + i] = (i * 131 + 7) & 0xff;
  damaged = [message('cut-in-half', jpeg.subarray(0, jpeg.length >> 1), 100), message('overwritten', corrupt, 101)];
});
afterAll(async () => {
  await session.scorer.close();
});

interface Run {
  stats: PipelineStats;
  letters: DeadLetter[];
  verdicts: string[];
  reported: Array<[string, FrameDamage]>;
  metrics: string;
}

/** Runs the good and damaged frames, frames.damaged as given (undefined: the default from the config), into the agent's metrics. */
async function run(policy: DamagedPolicy | undefined): Promise<Run> {
  const config = loadConfig({ env: policy ? { GAIA_FRAME_DAMAGED: policy } : {} });
  const registry = new MetricsRegistry();
  const metrics = new AgentMetrics(registry, { model: 'fmnist-cnn', allowSources: [], topKSources: 10 });
  const out: Omit<Run, 'stats' | 'metrics'> = { letters: [], verdicts: [], reported: [] };
  const stats = await runPipeline({
    source: new ListSource([...good.slice(0, 3), ...damaged, ...good.slice(3)]),
    pre: new Preprocessor(session.pkg.manifest, config.frames),
    scorer: session.scorer as Scorer,
    judging: new Judging({ labels: session.pkg.manifest.labels, numClasses: session.scorer.numClasses, model: 'fmnist-cnn', fingerprint: session.fingerprint }),
    sinks: {
      publish: async ({ records, letters }) => {
        out.verdicts.push(...records.map((r) => r.frameId));
        out.letters.push(...letters);
      },
    },
    maxBatch: 4,
    maxWaitMs: 5,
    highWaterMark: 16,
    observer: {
      deadLetter: (d) => metrics.deadLetter(d),
      verdict: (r) => metrics.verdict(r),
      damagedFrame: (m, d) => {
        out.reported.push([m.frameId, d]);
        metrics.damagedFrame(m, d);
      },
    },
  });
  return { stats, ...out, metrics: await registry.metrics() };
}

describe('damaged frames in the pipeline', () => {
  it('dead-letters them as damaged by default, and counts them by kind', async () => {
    const r = await run(undefined);
    expect(r.stats).toMatchObject({ scored: 6, deadLetters: 2 });
    expect(r.verdicts).toEqual(good.map((m) => m.frameId));
    expect(r.letters.map((d) => [d.frameId, d.reason])).toEqual([
      ['cut-in-half', 'damaged'],
      ['overwritten', 'damaged'],
    ]);
    expect(r.letters[0]!.message).toMatch(/^jpeg frame 320x320 is damaged \(stage decode\): its header is valid but its data is truncated/);
    expect(r.letters[1]!.message).toMatch(/^jpeg frame 320x320 is damaged \(stage decode\): its header is valid but its data is corrupt/);
    expect(r.reported.map(([id, d]) => [id, d.kind, d.action])).toEqual([
      ['cut-in-half', 'truncated', 'dead-letter'],
      ['overwritten', 'corrupt', 'dead-letter'],
    ]);
    expect(r.metrics).toContain('gaia_dead_letters_total{reason="damaged",source="cam"} 2');
    expect(r.metrics).toContain('gaia_damaged_frames_total{reason="truncated",action="dead-letter",source="cam"} 1');
    expect(r.metrics).toContain('gaia_damaged_frames_total{reason="corrupt",action="dead-letter",source="cam"} 1');
  });

  it('scores them with frames.damaged=score, in order, and still counts them', async () => {
    const r = await run('score');
    expect(r.stats).toMatchObject({ scored: 8, deadLetters: 0 });
    expect(r.letters).toEqual([]);
    expect(r.verdicts).toEqual([...good.slice(0, 3), ...damaged, ...good.slice(3)].map((m) => m.frameId));
    expect(r.reported.map(([id, d]) => [id, d.kind, d.action])).toEqual([
      ['cut-in-half', 'truncated', 'score'],
      ['overwritten', 'corrupt', 'score'],
    ]);
    expect(r.metrics).toContain('gaia_damaged_frames_total{reason="truncated",action="score",source="cam"} 1');
    expect(r.metrics).toContain('gaia_damaged_frames_total{reason="corrupt",action="score",source="cam"} 1');
    expect(r.metrics).not.toContain('gaia_dead_letters_total{reason="damaged"');
  });
});
