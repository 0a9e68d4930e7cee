/**
 * What the figures plot: every frame set scored by the model package's scoring graph through
 * the agent's own preprocessing, with the score heads, GAIA-Z's per-channel ratios and the
 * saliency map, plus the first few frames of each set as the model saw them.
 */
import { readCalibrationJson, requiredStats } from '../../src/calibration/calibration-file.js';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { HeadName } from '../../src/compile/heads.js';
import { loadConfig } from '../../src/config/load.js';
import { openFrameSet, type SetItem } from '../../src/frames/frame-set.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { loadModelPackage, type ModelPackage } from '../../src/model/manifest.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { OrtScorer } from '../../src/runtime/ort-scorer.js';
import { frameOutput, predictedClasses, type ScoreBatch } from '../../src/runtime/scorer.js';

/** One frame as the model saw it, with what the scoring graph said about it. */
export interface Example {
  readonly id: string;
  /** The input tensor mapped back to [0, 1] grey levels (first channel), [height, width]. */
  readonly pixels: Float32Array;
  readonly size: readonly [number, number];
  readonly saliency: Float32Array;
  readonly saliencyShape: readonly number[];
  readonly label: string;
  readonly confidence: number;
  readonly gaiaZ: number;
}

export interface ScoredSet {
  readonly name: string;
  readonly count: number;
  /** Per score head, one value per frame. */
  readonly scores: Readonly<Record<string, Float32Array>>;
  /** GAIA-Z's non-zero ratios, [count, channels of every tap]. */
  readonly ratios: Float32Array;
  readonly examples: readonly Example[];
}

export interface Collected {
  readonly model: string;
  readonly heads: readonly HeadName[];
  /** Channels of each tap, in tap order (how the ratios split into taps). */
  readonly tapChannels: readonly number[];
  /** The calibration's raw threshold per head. */
  readonly thresholds: Readonly<Record<string, number>>;
  /** Per head: -1 where a higher score means out-of-distribution, +1 where it means in-distribution (the calibration's sign). */
  readonly signs: Readonly<Record<string, number>>;
  readonly saliencyNote: string;
  readonly sets: readonly ScoredSet[];
}

export interface CollectOptions {
  readonly modelDir: string;
  readonly calibration: string;
  readonly sets: ReadonlyArray<{ readonly name: string; readonly path: string }>;
  /** Frames scored per set (the first ones). */
  readonly count: number;
  /** Frames per set kept as examples, spread evenly over the frames scored. */
  readonly examples: number;
  readonly heads: readonly HeadName[];
  readonly batch: number;
}

async function* firstItems(items: AsyncIterable<SetItem>, count: number): AsyncIterable<SetItem> {
  let n = 0;
  for await (const item of items) {
    if (n++ >= count) return;
    yield item;
  }
}

function example(pkg: ModelPackage, out: ScoreBatch, i: number, input: Float32Array, id: string, numClasses: number): Example {
  const [, , h, w] = pkg.manifest.input.shape as [unknown, number, number, number];
  const { mean, std } = pkg.manifest.input;
  const pixels = Float32Array.from(input.subarray(0, h * w), (x) => Math.min(1, Math.max(0, x * std[0]! + mean[0]!)));
  const logits = out.logits.subarray(i * numClasses, (i + 1) * numClasses);
  const top = predictedClasses(out, numClasses)[i]!;
  const max = Math.max(...logits);
  const sum = logits.reduce((acc, v) => acc + Math.exp(v - max), 0);
  const map = frameOutput(out, 'saliency', i);
  return {
    id,
    pixels,
    size: [h, w],
    saliency: Float32Array.from(map.data),
    saliencyShape: map.shape,
    label: pkg.manifest.labels[top] ?? String(top),
    confidence: 1 / sum,
    gaiaZ: out.scores.gaia_z![i]!,
  };
}

export async function collect(o: CollectOptions): Promise<Collected> {
  const config = loadConfig({ env: {}, overrides: { 'model.dir': o.modelDir } });
  const pkg = await loadModelPackage(o.modelDir);
  const cal = await readCalibrationJson(o.calibration);
  const featureStats = o.heads.some((h) => h === 'mahalanobis' || h === 'react') ? requiredStats(o.calibration, cal) : undefined;
  const compiled = compileScoringGraph(await loadModel(pkg.modelPath), {
    heads: ['logits', ...o.heads, 'gaia_z_ratios', 'saliency'],
    gaiaZMode: 'pattern',
    ...(featureStats ? { headSettings: { featureStats } } : {}),
  });
  const scorer = await OrtScorer.create(encodeModel(compiled.model), compiled.numClasses, {
    executionProviders: ['cpu'],
    requireGpu: false,
    intraOpThreads: 2,
    inputShape: pkg.manifest.input.shape.slice(1) as number[],
  });
  const pre = new Preprocessor(pkg.manifest, config.frames);
  const per = pre.elementsPerFrame;
  const sets: ScoredSet[] = [];
  try {
    for (const { name, path } of o.sets) {
      const set = await openFrameSet(path);
      const scores: Record<string, number[]> = Object.fromEntries(o.heads.map((h) => [h, []]));
      const ratios: number[] = [];
      const examples: Example[] = [];
      const scored = Math.min(o.count, set.count);
      const wanted = new Set(Array.from({ length: Math.min(o.examples, scored) }, (_, k) => Math.floor(((k + 0.5) * scored) / o.examples)));
      let index = 0;
      let batch: Array<{ id: string; input: Float32Array; index: number }> = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const input = new Float32Array(batch.length * per);
        batch.forEach((f, i) => input.set(f.input, i * per));
        const out = await scorer.score(input, batch.length);
        for (const h of o.heads) scores[h]!.push(...out.scores[h]!);
        ratios.push(...out.scores.gaia_z_ratios!);
        for (const [i, f] of batch.entries()) if (wanted.has(f.index)) examples.push(example(pkg, out, i, f.input, f.id, compiled.numClasses));
        batch = [];
      };
      for await (const item of firstItems(set.items(), o.count)) {
        const input = new Float32Array(per);
        if (item.kind === 'encoded') await pre.decodeInto(item.bytes, input);
        else await pre.rawInto(item.pixels, item.layout, input);
        batch.push({ id: item.id, input, index: index++ });
        if (batch.length === o.batch) await flush();
      }
      await flush();
      const count = scores[o.heads[0]!]!.length;
      sets.push({ name, count, scores: Object.fromEntries(o.heads.map((h) => [h, Float32Array.from(scores[h]!)])), ratios: Float32Array.from(ratios), examples });
    }
  } finally {
    await scorer.close();
  }
  return {
    model: pkg.manifest.name,
    heads: o.heads,
    tapChannels: compiled.taps.map((t) => Number(t.shape[t.channelAxis])),
    thresholds: Object.fromEntries(o.heads.flatMap((h) => (cal.heads[h] ? [[h, cal.heads[h]!.rawThreshold]] : []))),
    signs: Object.fromEntries(o.heads.flatMap((h) => (cal.heads[h] ? [[h, cal.heads[h]!.sign]] : []))),
    saliencyNote: compiled.notes.find((n) => n.startsWith('saliency:')) ?? '',
    sets,
  };
}
