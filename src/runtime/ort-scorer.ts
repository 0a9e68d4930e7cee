/** A Scorer on one onnxruntime-node session over a compiled scoring graph. */
import * as ort from 'onnxruntime-node';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { ScoreBatch, Scorer } from './scorer.js';

export interface OrtScorerOptions {
  /** Execution providers in order of preference, e.g. ["cuda", "cpu"]. */
  readonly executionProviders: readonly string[];
  /** Fail instead of falling back to CPU when no GPU provider loads. */
  readonly requireGpu: boolean;
  readonly intraOpThreads: number;
  /** Input tensor shape without the batch axis, e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
}

export class OrtScorer implements Scorer {
  private closing: Promise<void> | undefined;
  /** Providers tried before the one in use, each with why it did not load. */
  fallbacks: readonly string[] = [];

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
    for (const provider of options.executionProviders) {
      try {
        const session = await ort.InferenceSession.create(model, {
          executionProviders: [provider],
          intraOpNumThreads: options.intraOpThreads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        });
        if (options.requireGpu && provider === 'cpu') {
          await session.release();
          break;
        }
        const heads = session.outputNames.filter((n) => n !== 'logits' && !n.startsWith('debug/'));
        const scorer = new OrtScorer(session, options, provider, heads, numClasses);
        scorer.fallbacks = errors;
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

  async score(input: Float32Array, size: number): Promise<ScoreBatch> {
    const tensor = new ort.Tensor('float32', input.subarray(0, size * this.perFrame()), [size, ...this.options.inputShape]);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ [this.session.inputNames[0]!]: tensor });
    } catch (cause) {
      throw new GaiaError(ErrorCodes.RUNTIME, `scoring a batch of ${size} failed: ${(cause as Error).message}`, { cause, retriable: true });
    }
    const scores: Record<string, Float32Array> = {};
    for (const head of this.heads) scores[head] = out[head]!.data as Float32Array;
    return { size, logits: out.logits!.data as Float32Array, scores };
  }

  private perFrame(): number {
    return this.options.inputShape.reduce((a, b) => a * b, 1);
  }

  close(): Promise<void> {
    this.closing ??= this.session.release();
    return this.closing;
  }
}
