/**
 * Inference runs in a worker thread: while batches of 128 are scored back to back the main
 * event loop stays responsive (worst delay < 50 ms), where the same session in the calling
 * thread blocks it for whole batches. Results are identical either way.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../src/compile/compiler.js';
import { ErrorCodes } from '../src/errors.js';
import { loadModelPackage } from '../src/frames/manifest.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
import { OrtScorer, type OrtScorerOptions } from '../src/runtime/ort-scorer.js';
import type { Scorer } from '../src/runtime/scorer.js';
import { WorkerScorer } from '../src/runtime/worker-scorer.js';

const BATCH = 128;
let bytes: Uint8Array;
let numClasses: number;
let options: OrtScorerOptions;
let perFrame: number;

function batchInput(seed: number): Float32Array {
  return Float32Array.from({ length: BATCH * perFrame }, (_, i) => Math.sin(i * 0.37 + seed));
}

/** Worst event-loop delay (ms) while `batches` batches are scored back to back. */
async function worstDelayWhileScoring(scorer: Scorer, batches: number): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  for (let b = 0; b < batches; b++) await scorer.score(batchInput(b), BATCH);
  h.disable();
  return h.max / 1e6;
}

beforeAll(async () => {
  const pkg = await loadModelPackage('models/fmnist-cnn');
  const compiled = compileScoringGraph(await loadModel(pkg.modelPath));
  bytes = encodeModel(compiled.model);
  numClasses = compiled.numClasses;
  options = { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: 2, inputShape: pkg.manifest.input.shape.slice(1) as number[] };
  perFrame = options.inputShape.reduce((a, b) => a * b, 1);
});

describe('WorkerScorer', () => {
  it('gives the same logits and scores as the in-thread scorer', async () => {
    const inThread = await OrtScorer.create(bytes, numClasses, options);
    const worker = await WorkerScorer.create(bytes, numClasses, options);
    try {
      const a = await inThread.score(batchInput(1), BATCH);
      const b = await worker.score(batchInput(1), BATCH);
      expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
      for (const h of inThread.heads) expect(Array.from(b.scores[h]!), h).toEqual(Array.from(a.scores[h]!));
      expect(worker.heads).toEqual(inThread.heads);
      expect(worker.executionProvider).toBe('cpu');
    } finally {
      await inThread.close();
      await worker.close();
    }
  });

  it('keeps the event loop free while batches of 128 are scored back to back (worst delay < 50 ms)', async () => {
    const inThread = await OrtScorer.create(bytes, numClasses, options);
    const worker = await WorkerScorer.create(bytes, numClasses, options);
    try {
      const blocked = await worstDelayWhileScoring(inThread, 6);
      const free = await worstDelayWhileScoring(worker, 6);
      // The in-thread run holds the loop for a whole batch; the worker leaves it alone.
      expect(free).toBeLessThan(50);
      expect(blocked).toBeGreaterThan(free);
      console.log(`worst event-loop delay over 6 batches of ${BATCH}: in-thread ${blocked.toFixed(1)} ms, worker ${free.toFixed(1)} ms`);
    } finally {
      await inThread.close();
      await worker.close();
    }
  });

  it('takes the input buffer (transfer, not copy), and refuses work once closed', async () => {
    const worker = await WorkerScorer.create(bytes, numClasses, options);
    const input = batchInput(2);
    const pending = worker.score(input, BATCH);
    expect(input.byteLength).toBe(0); // detached: the buffer moved to the worker
    expect((await pending).size).toBe(BATCH);
    await Promise.all([worker.close(), worker.close()]);
    await expect(worker.score(batchInput(3), BATCH)).rejects.toMatchObject({ code: ErrorCodes.RUNTIME });
  });
});
