/**
 * A head with a 2-D map per frame (saliency, [N, h, w]) crosses the scorer like any other:
 * the in-thread and the worker scorer hand back the same values with each head's per-frame
 * shape, also when a batch is padded to a bucket, and frameOutput cuts one frame's map out.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { OrtScorer, type OrtScorerOptions } from '../../src/runtime/ort-scorer.js';
import { frameOutput, type ScoreBatch } from '../../src/runtime/scorer.js';
import { WorkerScorer } from '../../src/runtime/worker-scorer.js';

let bytes: Uint8Array;
let numClasses: number;
let options: OrtScorerOptions;
let perFrame: number;

const input = (frames: number, seed = 0) => Float32Array.from({ length: frames * perFrame }, (_, i) => Math.sin(i * 0.37 + seed));

beforeAll(async () => {
  const pkg = await loadModelPackage('models/fmnist-cnn');
  const compiled = compileScoringGraph(await loadModel(pkg.modelPath), { heads: ['logits', 'gaia_z', 'gaia_z_ratios', 'saliency'] });
  bytes = encodeModel(compiled.model);
  numClasses = compiled.numClasses;
  options = { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: 1, inputShape: pkg.manifest.input.shape.slice(1) as number[] };
  perFrame = options.inputShape.reduce((a, b) => a * b, 1);
});

function expectShapes(batch: ScoreBatch): void {
  // fmnist-cnn: 5 taps of 16+32+32+64+64 channels; its last feature map is 7×7.
  expect(batch.frameShapes).toEqual({ gaia_z: [], gaia_z_ratios: [208], saliency: [7, 7] });
  expect(batch.scores.saliency!.length).toBe(batch.size * 49);
}

describe('per-frame maps through the scorers', () => {
  it('the worker scorer carries the saliency map and its shape exactly as the in-thread one', async () => {
    const inThread = await OrtScorer.create(bytes, numClasses, options);
    const worker = await WorkerScorer.create(bytes, numClasses, options);
    try {
      const a = await inThread.score(input(5), 5);
      const b = await worker.score(input(5), 5);
      expectShapes(a);
      expectShapes(b);
      expect(Array.from(b.scores.saliency!)).toEqual(Array.from(a.scores.saliency!));
      for (let i = 0; i < 5; i++) {
        const map = frameOutput(b, 'saliency', i);
        expect(map.shape).toEqual([7, 7]);
        expect(Math.max(...map.data)).toBe(1);
        expect(Math.min(...map.data)).toBeGreaterThanOrEqual(0);
        expect(frameOutput(b, 'gaia_z', i)).toEqual({ data: b.scores.gaia_z!.subarray(i, i + 1), shape: [] });
      }
    } finally {
      await inThread.close();
      await worker.close();
    }
  });

  it('a batch padded to a bucket keeps only its own frames’ maps', async () => {
    const padded = await OrtScorer.create(bytes, numClasses, { ...options, shapes: { maxBatch: 8, pad: 'always', warmup: 'never' } });
    const plain = await OrtScorer.create(bytes, numClasses, options);
    try {
      const a = await padded.score(input(3, 1), 3);
      const b = await plain.score(input(3, 1), 3);
      expectShapes(a);
      for (let i = 0; i < a.scores.saliency!.length; i++) expect(a.scores.saliency![i]).toBeCloseTo(b.scores.saliency![i]!, 6);
    } finally {
      await padded.close();
      await plain.close();
    }
  });

  it('frameOutput names what is wrong', async () => {
    const scorer = await OrtScorer.create(bytes, numClasses, options);
    try {
      const batch = await scorer.score(input(2), 2);
      expect(() => frameOutput(batch, 'features', 0)).toThrow(/no "features" output \(heads: gaia_z_ratios, gaia_z, saliency\)/);
      expect(() => frameOutput(batch, 'saliency', 2)).toThrow(/frame 2 is outside a batch of 2/);
    } finally {
      await scorer.close();
    }
  });
});
