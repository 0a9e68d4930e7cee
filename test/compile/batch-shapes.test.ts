/**
 * Fixed batch shapes (runtime.padBatches, runtime.warmup): on a GPU each new batch shape
 * costs a cuDNN algorithm search on its first run, so batches are padded to a few sizes and
 * each size is run once before the scorer is handed out. Checked here on the CPU provider
 * with the policies forced on: the padded scorer gives exactly the scores of the unpadded
 * one at every batch size, runs only its buckets, and "auto" leaves the CPU alone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { batchBuckets, OrtScorer } from '../../src/runtime/ort-scorer.js';
import { readNpy } from '../helpers/npy.js';

const ARCH = join(import.meta.dirname, '..', 'fixtures', 'parity', 'resnet_basic');
let bytes: Uint8Array;
let numClasses: number;
let input: { data: Float32Array; shape: number[] };
const open: OrtScorer[] = [];

beforeAll(async () => {
  const compiled = compileScoringGraph(await loadModel(join(ARCH, 'model.onnx')), { heads: ['logits', 'gaia_z', 'msp', 'energy'] });
  bytes = encodeModel(compiled.model);
  numClasses = compiled.numClasses;
  input = readNpy(join(ARCH, 'input.npy')) as { data: Float32Array; shape: number[] };
});
afterAll(async () => {
  for (const s of open) await s.close();
});

async function scorer(shapes?: { maxBatch: number; pad: 'auto' | 'always' | 'never'; warmup: 'auto' | 'always' | 'never' }) {
  const s = await OrtScorer.create(bytes, numClasses, { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: 1, inputShape: input.shape.slice(1), ...(shapes ? { shapes } : {}) });
  open.push(s);
  return s;
}

describe('batch shapes', () => {
  it('buckets are 1, 2, 4, … below maxBatch, and maxBatch', () => {
    expect(batchBuckets(1)).toEqual([1]);
    expect(batchBuckets(8)).toEqual([1, 2, 4, 8]);
    expect(batchBuckets(32)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(batchBuckets(12)).toEqual([1, 2, 4, 8, 12]);
  });

  it('a padded, warmed scorer gives exactly the unpadded scores at every batch size', async () => {
    const [batch, ...rest] = input.shape as [number, ...number[]];
    const per = rest.reduce((a, b) => a * b, 1);
    const plain = await scorer();
    const padded = await scorer({ maxBatch: 8, pad: 'always', warmup: 'always' });
    expect(padded.buckets).toEqual([1, 2, 4, 8]);
    expect(padded.warmupMs).toBeGreaterThan(0);
    for (let size = 1; size <= Math.min(batch, 7); size++) {
      const frames = input.data.slice(0, size * per);
      const [a, b] = [await plain.score(frames.slice(), size), await padded.score(frames.slice(), size)];
      expect(b.size).toBe(size);
      expect(b.logits.length).toBe(size * numClasses);
      for (const head of plain.heads) {
        expect(b.scores[head]!.length, head).toBe(size);
        Array.from(a.scores[head]!).forEach((v, i) => expect(Math.abs(v - b.scores[head]![i]!), `${head}[${i}] at batch ${size}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
      }
    }
  });

  it('"auto" pads and warms only on a GPU: the CPU provider runs every batch as it comes', async () => {
    const auto = await scorer({ maxBatch: 8, pad: 'auto', warmup: 'auto' });
    expect(auto.executionProvider).toBe('cpu');
    expect(auto.buckets).toEqual([]);
    expect(auto.warmupMs).toBe(0);
  });
});
