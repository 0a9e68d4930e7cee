/**
 * Evidence per drift episode: the ring keeps the most anomalous recent frames, bounded in
 * sources and frames; it is frozen into the episode when it opens and when it ends; the
 * pictures are the model's view of the real frame (sharp), with a saliency overlay when
 * the batch carries a map (here one computed in the test, until the saliency head lands).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { episodeId } from '../../src/contracts/evidence.js';
import type { DriftEvent } from '../../src/contracts/drift.js';
import type { VerdictRecord } from '../../src/contracts/events.js';
import type { SourceMessage } from '../../src/contracts/stream.js';
import { EvidenceImages } from '../../src/frames/evidence-images.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { Evidence } from '../../src/judging/evidence.js';
import { EvidenceRing } from '../../src/judging/evidence-ring.js';
import { evidenceHeads, firedBy, layerZeroRatios, saliencyOf } from '../../src/judging/evidence-frame.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import type { ScoreBatch } from '../../src/runtime/scorer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');
const frameBytes = (dir: string, i: number) => readFileSync(join(SAMPLES, dir, readdirSync(join(SAMPLES, dir)).sort()[i]!));

function message(source: string, value: Uint8Array, offset: number): SourceMessage {
  return { source, frameId: `f${offset}`, value, headers: {}, origin: { topic: 'gaia.frames', partition: 0, offset: String(offset) } };
}

function record(source: string, offset: number, pValue: number): VerdictRecord {
  return {
    topic: 'gaia.frames', partition: 0, offset: String(offset), source, frameId: `f${offset}`, head: 'verdict', score: Math.log(pValue), flagged: pValue < 0.05,
    pValue, pValues: { gaia_z: pValue, energy: 0.5 }, predictedClass: 'Sandal', confidence: 0.9, scoredAt: 1_000 + offset, model: 'm', modelFingerprint: 'f', calibration: null,
  };
}

/** One frame's batch: two taps of 2 and 3 channels, and a 7x7 saliency map peaking at (2, 4). */
function batch(): ScoreBatch {
  const map = new Float32Array(49);
  for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) map[y * 7 + x] = Math.exp(-((y - 2) ** 2 + (x - 4) ** 2) / 3);
  return { size: 1, logits: new Float32Array(10), scores: { gaia_z_ratios: new Float32Array([0.2, 0.4, 0.9, 0.9, 0.6]), saliency: map } };
}

const drift = (type: DriftEvent['type'], source: string, ts: number, startedAt?: number): DriftEvent => ({
  type, source, window: 500, flagged: 60, rate: 0.12, p0: 0.05, pValue: 1e-6, criticalCount: 52, ts, ...(startedAt === undefined ? {} : { startedAt }),
});

describe('the evidence ring', () => {
  it('keeps the most anomalous frames of the last window, the older on a tie', () => {
    const ring = new EvidenceRing(3, 10);
    const entered = [0.5, 0.1, 0.9, 0.05, 0.2, 0.7, 0.2].map((p) => ring.offer(p) !== undefined);
    expect(entered).toEqual([true, true, true, true, true, false, false]);
    expect(ring.snapshot().map((e) => e.pValue)).toEqual([0.05, 0.1, 0.2]);
    // Ten frames later the old ones have left the window: recent frames took their places as they fell out.
    for (let i = 0; i < 10; i++) ring.offer(0.6 + i / 100);
    expect(ring.snapshot().map((e) => e.pValue.toFixed(2))).toEqual(['0.64', '0.66', '0.67']);
    expect(ring.snapshot().every((e) => e.seq >= 7)).toBe(true);
  });
});

describe('evidence frames', () => {
  it('say which head fired, each tap\'s zero ratio, and carry the saliency map', () => {
    expect(firedBy({ gaia_z: 0.2, energy: 0.01, mahalanobis: 0.3 })).toBe('energy');
    expect(layerZeroRatios(batch(), 0, [2, 3])!.map((r) => r.toFixed(3))).toEqual(['0.300', '0.800']);
    expect(layerZeroRatios(batch(), 0, [4])).toBeUndefined();
    const map = saliencyOf(batch(), 0)!;
    expect([map.height, map.width]).toEqual([7, 7]);
    expect(evidenceHeads(['gaia_z', 'saliency'])).toEqual(['gaia_z_ratios', 'saliency']);
    expect(evidenceHeads(['gaia_z'])).toEqual(['gaia_z_ratios']);
  });
});

describe('evidence per episode', () => {
  it('freezes the ring when the episode opens and when it resolves, with the same id and link', () => {
    const ev = new Evidence({ model: 'm', framesPerSource: 2, sources: 4, recentEpisodes: 3, window: 100, baseUrl: 'https://gaia.example', tapChannels: [2, 3] });
    [0.3, 0.01, 0.2].forEach((p, i) => ev.observe(message('cam', new Uint8Array(), i), record('cam', i, p), batch(), 0));
    const url = ev.onDrift(drift('drift-started', 'cam', 5_000), [0.25, 0.75])!;
    expect(url).toBe(`https://gaia.example/evidence/${episodeId('cam', 5_000)}`);
    ev.observe(message('cam', new Uint8Array(), 3), record('cam', 3, 0.001), batch(), 0);
    expect(ev.onDrift(drift('drift-resolved', 'cam', 9_000, 5_000))).toBe(url);
    const e = ev.episode(episodeId('cam', 5_000))!;
    expect(e.state).toBe('resolved');
    expect(e.typicalZeroRatios).toEqual([0.25, 0.75]);
    expect(e.framesAtStart.map((f) => f.offset)).toEqual(['1', '2']);
    expect(e.framesAtEnd!.map((f) => f.offset)).toEqual(['3', '1']);
    expect(e.framesAtStart[0]).toMatchObject({ topic: 'gaia.frames', partition: 0, firedBy: 'gaia_z', predictedClass: 'Sandal', layerZeroRatios: [expect.closeTo(0.3), expect.closeTo(0.8)] });
  });

  it('shows an episode that opened before a restart from its end, and ends open episodes that leave (silent, moved away)', () => {
    const ev = new Evidence({ model: 'm', framesPerSource: 2, sources: 4, recentEpisodes: 5, window: 100, baseUrl: '' });
    ev.observe(message('cam', new Uint8Array(), 0), record('cam', 0, 0.01), batch(), 0);
    expect(ev.onDrift(drift('drift-resolved', 'cam', 9_000, 5_000))).toBe(`/evidence/${episodeId('cam', 5_000)}`);
    expect(ev.episode(episodeId('cam', 5_000))).toMatchObject({ state: 'resolved', framesAtStart: [], framesAtEnd: [{ offset: '0' }] });
    ev.onDrift(drift('drift-started', 'a', 1));
    ev.onDrift(drift('drift-started', 'b', 2));
    ev.endWithout('a', 'silent', 1);
    ev.forget(['b']);
    expect(ev.episode(episodeId('a', 1))!.state).toBe('silent');
    expect(ev.episode(episodeId('b', 2))!.state).toBe('reset');
    expect(ev.index().episodes.filter((e) => e.state === 'open')).toEqual([]);
  });

  it('keeps frames of at most `sources` sources and `recentEpisodes` ended episodes; an opening episode takes a free slot', () => {
    const ev = new Evidence({ model: 'm', framesPerSource: 2, sources: 2, recentEpisodes: 2, window: 100, baseUrl: '' });
    for (let s = 0; s < 50; s++) ev.observe(message(`cam-${s}`, new Uint8Array(), s), record(`cam-${s}`, s, 0.01), batch(), 0);
    expect(ev.index().sourcesKept).toBe(2);
    // cam-9 has no slot; its episode takes cam-0's (no open episode there).
    expect(ev.onDrift(drift('drift-started', 'cam-9', 1))).toBeDefined();
    expect(ev.onDrift(drift('drift-started', 'cam-1', 2))).toBeDefined();
    // Every kept source has an open episode: a third one gets no evidence (and no link).
    expect(ev.onDrift(drift('drift-started', 'cam-20', 3))).toBeUndefined();
    for (let s = 0; s < 5; s++) ev.onDrift(drift('drift-resolved', `x-${s}`, 10 + s, s));
    const index = ev.index();
    expect(index.episodes.map((e) => e.state)).toEqual(['open', 'open', 'resolved', 'resolved']);
    expect(index.sourcesKept).toBe(2);
  });
});

describe('evidence pictures', () => {
  it("render the model's view of the real frame and the saliency overlay at the thumbnail's size", async () => {
    const pkg = await loadModelPackage(join(ROOT, 'models', 'fmnist-cnn'));
    const images = new EvidenceImages(new Preprocessor(pkg.manifest, { maxBytes: 1 << 20, maxPixels: 1 << 22 }), pkg.manifest.input, 96);
    const ev = new Evidence({ model: 'm', framesPerSource: 2, sources: 2, recentEpisodes: 2, window: 100, baseUrl: '', imager: images });
    ev.observe(message('cam', frameBytes('ood', 0), 0), record('cam', 0, 0.001), batch(), 0);
    ev.onDrift(drift('drift-started', 'cam', 1));
    await new Promise((r) => setTimeout(r, 300));
    const [frame] = ev.episode(episodeId('cam', 1))!.framesAtStart;
    const decode = (uri: string) => Buffer.from(uri.split(',')[1]!, 'base64');
    expect(frame!.thumbnail).toMatch(/^data:image\/jpeg;base64,/);
    const thumb = await sharp(decode(frame!.thumbnail!)).metadata();
    expect([thumb.width, thumb.height]).toEqual([96, 96]);
    // The overlay: an RGBA PNG as large as the thumbnail, most opaque and reddest where the map peaks (row 2, column 4 of 7).
    const { data, info } = await sharp(decode(frame!.overlay!)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([96, 96, 4]);
    const at = (x: number, y: number) => [...data.subarray((y * 96 + x) * 4, (y * 96 + x) * 4 + 4)];
    const peak = at(Math.round((4.5 / 7) * 96), Math.round((2.5 / 7) * 96));
    const far = at(5, 90);
    expect(peak[3]!).toBeGreaterThan(far[3]! + 100);
    expect(peak[0]!).toBeGreaterThan(200);
    // The thumbnail is the frame as the model saw it: the digit's bright strokes on black.
    const stats = await sharp(decode(frame!.thumbnail!)).stats();
    expect(stats.channels[0]!.max).toBeGreaterThan(200);
    expect(stats.channels[0]!.min).toBeLessThan(30);
  });

  it('shows a frame without a saliency map without an overlay', async () => {
    const pkg = await loadModelPackage(join(ROOT, 'models', 'fmnist-cnn'));
    const images = new EvidenceImages(new Preprocessor(pkg.manifest, { maxBytes: 1 << 20, maxPixels: 1 << 22 }), pkg.manifest.input, 96);
    const pictures = await images.render({ value: frameBytes('id', 3), headers: {} }, undefined);
    expect(pictures.thumbnail).toMatch(/^data:image\/jpeg;base64,/);
    expect(pictures.overlay).toBeUndefined();
  });
});
