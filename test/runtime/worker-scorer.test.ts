/**
 * Inference runs in a worker thread: while batches of 128 are scored back to back the main
 * event loop stays responsive (worst delay < 50 ms), where the same session in the calling
 * thread blocks it for whole batches. Results are identical either way.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { ErrorCodes } from '../../src/errors.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { encodeModel, loadModel } from '../../src/onnx/model-io.js';
import { OrtScorer, type OrtScorerOptions } from '../../src/runtime/ort-scorer.js';
import type { Scorer } from '../../src/runtime/scorer.js';
import { WorkerScorer } from '../../src/runtime/worker-scorer.js';

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

  it('hands the input buffer back with the outputs, unchanged, for the caller to reuse', async () => {
    const worker = await WorkerScorer.create(bytes, numClasses, options);
    try {
      const first = await worker.score(batchInput(4), BATCH);
      expect(first.input).toBeInstanceOf(Float32Array);
      expect(Array.from(first.input!)).toEqual(Array.from(batchInput(4)));
      // The returned buffer refilled with another batch scores exactly as a fresh one.
      first.input!.set(batchInput(5));
      const reused = await worker.score(first.input!, BATCH);
      const fresh = await worker.score(batchInput(5), BATCH);
      expect(Array.from(reused.logits)).toEqual(Array.from(fresh.logits));
      for (const h of worker.heads) expect(Array.from(reused.scores[h]!), h).toEqual(Array.from(fresh.scores[h]!));
    } finally {
      await worker.close();
    }
  });

  it('scores identically with spin-waiting on and off (runtime.spinWait)', async () => {
    const spinning = await WorkerScorer.create(bytes, numClasses, { ...options, spinWait: true });
    const sleeping = await WorkerScorer.create(bytes, numClasses, { ...options, spinWait: false });
    try {
      const a = await spinning.score(batchInput(6), BATCH);
      const b = await sleeping.score(batchInput(6), BATCH);
      expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
      for (const h of spinning.heads) expect(Array.from(b.scores[h]!), h).toEqual(Array.from(a.scores[h]!));
    } finally {
      await spinning.close();
      await sleeping.close();
    }
  });
});

describe('WorkerScorer supervision (issue #10, defect 3)', () => {
  /** The worker thread as the parent sees it (for ending it from outside, as the OOM killer or a native crash would). */
  const threadOf = (s: WorkerScorer) => Reflect.get(s, 'worker') as import('node:worker_threads').Worker;
  const settle = (p: Promise<unknown>, ms: number) =>
    Promise.race([p.then(() => 'resolved', (e: Error) => e), new Promise((r) => setTimeout(() => r('never settled'), ms))]);

  it('rejects every later batch once its worker thread is gone, and says so', async () => {
    const scorer = await WorkerScorer.create(bytes, numClasses, options);
    await scorer.score(batchInput(1), BATCH);
    // Ended between batches: ending it inside onnxruntime's run() would abort this whole
    // process (see WorkerScorer), which is why a stuck batch is given up, not terminated.
    await threadOf(scorer).terminate();
    // Before: a batch sent to a dead worker waited forever.
    const later = await settle(scorer.score(batchInput(3), BATCH), 5_000);
    expect(later).toBeInstanceOf(Error);
    expect((later as { code?: string }).code).toBe(ErrorCodes.RUNTIME);
    expect((later as { retriable?: boolean }).retriable).toBe(true);
    expect(scorer.alive).toBe(false);
    const deaths: string[] = [];
    scorer.onDeath((err) => deaths.push(err.message)); // told at once when it is already dead
    expect(deaths).toEqual(['the scorer worker exited with code 1']);
    expect(await settle(scorer.close(), 5_000)).toBe('resolved');
  });

  it('gives up on a batch past its deadline: rejects it at the deadline, refuses later batches, still closes', async () => {
    // A deadline no batch of 128 can meet stands in for a session.run that never returns.
    const scorer = await WorkerScorer.create(bytes, numClasses, options, { batchTimeoutMs: 1 });
    const err = await settle(scorer.score(batchInput(1), BATCH), 5_000);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/not scored within 1 ms \(runtime.batchTimeoutMs\)/);
    expect(scorer.alive).toBe(false);
    expect(await settle(scorer.score(batchInput(2), BATCH), 5_000)).toBeInstanceOf(Error);
    expect(await settle(scorer.close(), 5_000)).toBe('resolved');
  });
});
