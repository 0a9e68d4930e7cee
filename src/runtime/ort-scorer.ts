/** A Scorer on one onnxruntime-node session over a compiled scoring graph. */
import * as ort from 'onnxruntime-node';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { ScoreBatch, Scorer } from './scorer.js';

export interface OrtScorerOptions {
  /** Execution providers in order of preference, e.g. ["cuda", "cpu"], or ["auto"] (providerOrder). */
  readonly executionProviders: readonly string[];
  /** Fail instead of falling back to CPU when no GPU provider loads. */
  readonly requireGpu: boolean;
  readonly intraOpThreads: number;
  /**
   * Let onnxruntime's pool threads spin while they wait for work (onnxruntime's own default)
   * instead of sleeping at once. Default false: in the agent, spinning burned a third of its
   * CPU per frame that decoding needed, and lowered its throughput (runtime.spinWait;
   * docs/BENCHMARKS.md, "The agent's own CPU outside the scorer").
   */
  readonly spinWait?: boolean;
  /** Input tensor shape without the batch axis, e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
  /** The GPU the CUDA provider runs on (default 0). */
  readonly cudaDeviceId?: number;
  /**
   * Batch shapes on a GPU: its first run of each new shape is slow (cuDNN searches every
   * convolution's algorithm for it, and onnxruntime-node's binding offers no way to choose a
   * cheaper search), so batches are padded to a few fixed sizes (powers of two up to
   * maxBatch, and maxBatch) and each is run once before the scorer is handed out. "auto":
   * both on any provider but the CPU, where a new shape costs nothing.
   */
  readonly shapes?: { readonly maxBatch: number; readonly pad: ShapePolicy; readonly warmup: ShapePolicy };
}

export type ShapePolicy = 'auto' | 'always' | 'never';

/** The batch sizes a padded scorer runs: 1, 2, 4, … below maxBatch, and maxBatch. */
export function batchBuckets(maxBatch: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/** The providers to try: "auto" is CUDA, then the CPU (runtime.executionProviders). */
export function providerOrder(providers: readonly string[]): readonly string[] {
  return providers.flatMap((p) => (p === 'auto' ? ['cuda', 'cpu'] : [p]));
}

export class OrtScorer implements Scorer {
  private closing: Promise<void> | undefined;
  /** Providers tried before the one in use, each with why it did not load. */
  fallbacks: readonly string[] = [];
  /** The sizes batches are padded to (empty: none), and how long warming them took. */
  buckets: readonly number[] = [];
  warmupMs = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly options: OrtScorerOptions,
    readonly executionProvider: string,
    readonly heads: readonly string[],
    readonly numClasses: number,
  ) {}

  /**
   * Opens the graph on the first execution provider that loads. `fallbacks` lists the
   * providers that were tried and failed, with the reason, for the caller to log.
   */
  static async create(model: Uint8Array, numClasses: number, options: OrtScorerOptions): Promise<OrtScorer> {
    // A missing CUDA provider is an expected, reported fallback, not a native error print.
    ort.env.logLevel = 'fatal';
    const errors: string[] = [];
    for (const provider of providerOrder(options.executionProviders)) {
      try {
        const session = await ort.InferenceSession.create(model, {
          executionProviders: [provider === 'cuda' ? { name: 'cuda', deviceId: options.cudaDeviceId ?? 0 } : provider],
          intraOpNumThreads: options.intraOpThreads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          ...spinning(options.spinWait ?? false),
        });
        if (options.requireGpu && provider === 'cpu') {
          await session.release();
          break;
        }
        const heads = session.outputNames.filter((n) => n !== 'logits' && !n.startsWith('debug/'));
        const scorer = new OrtScorer(session, options, provider, heads, numClasses);
        scorer.fallbacks = errors;
        await scorer.prepareShapes();
        return scorer;
      } catch (cause) {
        errors.push(`${provider}: ${(cause as Error).message.split('\n')[0]!.slice(0, 300)}`);
      }
    }
    throw new GaiaError(
      ErrorCodes.RUNTIME,
      options.requireGpu
        ? `requireGpu is set but no GPU execution provider loaded (${errors.join('; ') || 'only cpu was listed'}); install the CUDA build (see Dockerfile) or unset requireGpu`
        : `no execution provider could load the scoring graph: ${errors.join('; ')}`,
    );
  }

  /** Chooses the padding buckets for this provider and runs each once (see OrtScorerOptions.shapes). */
  private async prepareShapes(): Promise<void> {
    const shapes = this.options.shapes;
    if (!shapes) return;
    const onGpu = this.executionProvider !== 'cpu';
    const on = (p: ShapePolicy) => p === 'always' || (p === 'auto' && onGpu);
    const buckets = batchBuckets(shapes.maxBatch);
    if (on(shapes.pad)) this.buckets = buckets;
    if (!on(shapes.warmup)) return;
    const started = performance.now();
    // Twice per shape: onnxruntime's CPU provider still plans and faults in its memory on the
    // second run (docs/BENCHMARKS.md, "Warm-up": a ResNet-50 at batch 16 runs 4x slower twice).
    for (const size of this.buckets.length > 0 ? buckets : [1, shapes.maxBatch]) {
      for (let run = 0; run < 2; run++) await this.score(new Float32Array(size * this.perFrame()), size);
    }
    this.warmupMs = performance.now() - started;
  }

  async score(input: Float32Array, size: number): Promise<ScoreBatch> {
    const per = this.perFrame();
    // Padded with zero frames to the next bucket: every frame's score is independent of its
    // batch (test/compile/batch-independence.test.ts), so the padding only costs compute.
    const run = this.buckets.find((b) => b >= size) ?? size;
    const data = run === size ? input.subarray(0, size * per) : padded(input, size * per, run * per);
    const tensor = new ort.Tensor('float32', data, [run, ...this.options.inputShape]);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ [this.session.inputNames[0]!]: tensor });
    } catch (cause) {
      throw new GaiaError(ErrorCodes.RUNTIME, `scoring a batch of ${size} failed: ${(cause as Error).message}`, { cause, retriable: true });
    }
    const scores: Record<string, Float32Array> = {};
    const frameShapes: Record<string, number[]> = {};
    for (const head of this.heads) {
      scores[head] = trim(out[head]!.data as Float32Array, size, run);
      frameShapes[head] = out[head]!.dims.slice(1);
    }
    return { size, logits: trim(out.logits!.data as Float32Array, size, run), scores, frameShapes };
  }

  private perFrame(): number {
    return this.options.inputShape.reduce((a, b) => a * b, 1);
  }

  close(): Promise<void> {
    this.closing ??= this.session.release();
    return this.closing;
  }
}

/** The session config entries that turn spin-waiting off; none where it stays on (onnxruntime's default). */
function spinning(on: boolean): Pick<ort.InferenceSession.SessionOptions, 'extra'> {
  if (on) return {};
  // onnxruntime-node flattens `extra` into session config entries: session.intra_op.allow_spinning.
  return { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
}

function padded(input: Float32Array, used: number, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(input.subarray(0, used));
  return out;
}

/** The first `size` of `run` rows of a per-frame output. */
function trim(data: Float32Array, size: number, run: number): Float32Array {
  return run === size ? data : data.subarray(0, (data.length / run) * size);
}
