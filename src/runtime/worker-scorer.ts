/**
 * A Scorer whose onnxruntime session lives in a worker thread. score() transfers the
 * input buffer to the worker and gets the outputs back as transferred buffers, with the
 * input buffer itself (ScoreBatch.input, for the caller to reuse): nothing is copied
 * across threads, and nothing is allocated for the input per batch.
 */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, GaiaError, type ErrorCode } from '../errors.js';
import type { OrtScorerOptions } from './ort-scorer.js';
import type { ScoreBatch, Scorer } from './scorer.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/**
 * The compiled worker entry. From dist/ it sits next to this file; when this file runs as
 * TypeScript source (tests), the worker still has to be the built JavaScript.
 */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const built = here.includes(`${sep}dist${sep}`)
    ? join(dirname(here), 'scorer-worker.js')
    : join(dirname(here), '..', '..', 'dist', 'src', 'runtime', 'scorer-worker.js');
  if (!existsSync(built)) {
    throw new GaiaError(ErrorCodes.RUNTIME, `the scorer worker ${built} is missing; run npm run build`);
  }
  return built;
}

interface Pending {
  resolve(batch: ScoreBatch): void;
  reject(err: Error): void;
  size: number;
  timer: NodeJS.Timeout | undefined;
}

export interface WorkerSupervision {
  /** A batch not scored within this long means a stuck worker: it is rejected and the worker stopped (ms; default none). */
  readonly batchTimeoutMs?: number;
}

export class WorkerScorer implements Scorer {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | undefined;
  /** Why the worker is gone (it exited, crashed, or missed a deadline); every score() rejects with it. */
  private death: GaiaError | undefined;
  private readonly deathListeners: Array<(err: GaiaError) => void> = [];
  private exited = false;
  /** The batch sizes the worker pads to (empty: none), and the warm-up's duration (ms). */
  buckets: readonly number[] = [];
  warmupMs = 0;

  private constructor(
    private readonly worker: Worker,
    readonly heads: readonly string[],
    readonly executionProvider: string,
    readonly fallbacks: readonly string[],
    readonly numClasses: number,
    private readonly supervision: WorkerSupervision,
  ) {
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    // An 'error' (an uncaught exception, ERR_WORKER_OUT_OF_MEMORY) is followed by 'exit'.
    worker.on('error', (err) => this.die(new GaiaError(ErrorCodes.RUNTIME, `the scorer worker crashed: ${err.message}`, { cause: err, retriable: true })));
    worker.on('exit', (code) => {
      this.exited = true;
      if (!this.closing || this.pending.size > 0) this.die(new GaiaError(ErrorCodes.RUNTIME, `the scorer worker exited with code ${code}`, { retriable: true }));
    });
  }

  static async create(model: Uint8Array, numClasses: number, options: OrtScorerOptions, supervision: WorkerSupervision = {}): Promise<WorkerScorer> {
    // A real copy (a Node Buffer's slice() would share, and the transfer detach, its memory).
    const copy = new Uint8Array(model);
    const worker = new Worker(workerEntry(), {
      workerData: { model: copy, numClasses, options },
      transferList: [copy.buffer as ArrayBuffer],
    });
    const ready = await new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (ready.type !== 'ready') {
      await worker.terminate();
      const message = ready.type === 'error' ? ready.message : `unexpected first message ${ready.type}`;
      const code = ready.type === 'error' && ready.code ? (ready.code as ErrorCode) : ErrorCodes.RUNTIME;
      throw new GaiaError(code, message);
    }
    const scorer = new WorkerScorer(worker, ready.heads, ready.executionProvider, ready.fallbacks, numClasses, supervision);
    scorer.buckets = ready.buckets;
    scorer.warmupMs = ready.warmupMs;
    return scorer;
  }

  /** False once the worker is gone; score() then rejects at once. */
  get alive(): boolean {
    return this.death === undefined;
  }

  /** Called once if the worker dies (not when it is closed). */
  onDeath(listener: (err: GaiaError) => void): void {
    if (this.death) listener(this.death);
    else this.deathListeners.push(listener);
  }

  /** Scores the first `size` frames of `input`; `input`'s buffer is transferred away. */
  score(input: Float32Array, size: number): Promise<ScoreBatch> {
    if (this.death) return Promise.reject(this.death);
    if (this.closing) return Promise.reject(new GaiaError(ErrorCodes.RUNTIME, 'the scorer is closed'));
    const id = this.nextId++;
    // Transfer the whole buffer: a view into a larger one would move its neighbours too.
    const buffer = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength ? input.buffer : input.slice().buffer;
    return new Promise<ScoreBatch>((resolve, reject) => {
      const limit = this.supervision.batchTimeoutMs;
      const timer =
        limit === undefined
          ? undefined
          : setTimeout(() => {
              // The batch is given up, but the worker is not terminated: ending a thread
              // while onnxruntime-node is inside run() aborts the whole process (SIGABRT,
              // "terminate called after throwing an instance of 'Napi::Error'").
              this.die(new GaiaError(ErrorCodes.RUNTIME, `a batch of ${size} frames was not scored within ${limit} ms (runtime.batchTimeoutMs): the scorer is stuck`, { retriable: true }));
            }, limit);
      this.pending.set(id, { resolve, reject, size, timer });
      const message: ToWorker = { type: 'score', id, input: buffer as ArrayBuffer, size };
      this.worker.postMessage(message, [buffer as ArrayBuffer]);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type !== 'scored' && m.type !== 'failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.type === 'failed') {
      p.reject(new GaiaError((m.code as ErrorCode | undefined) ?? ErrorCodes.RUNTIME, m.message, { retriable: true }));
      return;
    }
    const scores = Object.fromEntries(Object.entries(m.scores).map(([h, b]) => [h, new Float32Array(b)]));
    p.resolve({ size: p.size, logits: new Float32Array(m.logits), scores, ...(m.frameShapes ? { frameShapes: m.frameShapes } : {}), input: new Float32Array(m.input) });
  }

  /** The worker is gone: in-flight and later batches reject with `err`, listeners hear of it once. */
  private die(err: GaiaError): void {
    if (this.death) return;
    this.death = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const listener of this.deathListeners.splice(0)) listener(err);
  }

  /**
   * Gives up on the worker now, failing what is in flight (the agent's abort path);
   * idempotent. The thread is let go (unref), not terminated, for the reason above: it ends
   * with the process.
   */
  async abandon(): Promise<void> {
    this.closing ??= Promise.resolve();
    this.die(new GaiaError(ErrorCodes.RUNTIME, 'the scorer was abandoned (abort)'));
    this.worker.unref();
    await this.closing;
  }

  /** Lets in-flight batches finish, then stops the worker; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.pending.values()].map((p) => new Promise<void>((r) => {
        const { resolve, reject } = p;
        p.resolve = (b) => (resolve(b), r());
        p.reject = (e) => (reject(e), r());
      })));
      if (this.exited) return;
      const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      if (!this.death) {
        await exited;
        return;
      }
      // A worker given up on may be stuck in a batch and never read the close message:
      // wait a little, then let it go with the process.
      const waited = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 2_000).unref())]);
      if (!waited) this.worker.unref();
    })();
    return this.closing;
  }
}
