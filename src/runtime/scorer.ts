/**
 * The scorer contract: a batch of preprocessed frames in, per-frame logits and scores out.
 * Implementations: OrtScorer (onnxruntime-node in the calling thread) and WorkerScorer
 * (an OrtScorer in a worker thread: onnxruntime-node's run() holds its thread for the
 * whole batch, which must never be the main event loop).
 */
export interface ScoreBatch {
  /** Number of frames in the batch. */
  readonly size: number;
  /** [size, classes] logits, row-major. */
  readonly logits: Float32Array;
  /**
   * Per-frame outputs by head name (gaia_z, msp, energy, ...), frame after frame, row-major:
   * a scalar head has one value per frame, gaia_z_ratios a vector, saliency an [h, w] map.
   */
  readonly scores: Readonly<Record<string, Float32Array>>;
  /** Each head's shape per frame, without the batch axis ([] for a scalar, [h, w] for saliency). */
  readonly frameShapes?: Readonly<Record<string, readonly number[]>>;
  /**
   * The input array, handed back for reuse by a scorer that took it over (WorkerScorer
   * transfers it to its thread and back); absent where the caller's array was never taken.
   */
  readonly input?: Float32Array;
}

export interface Scorer {
  /** Head names the scoring graph computes, besides logits. */
  readonly heads: readonly string[];
  readonly numClasses: number;
  /** The execution provider that runs the graph ("cpu", "cuda"). */
  readonly executionProvider: string;
  /** Scores the first `size` frames of `input`, whose buffer the scorer may take over (transfer). */
  score(input: Float32Array, size: number): Promise<ScoreBatch>;
  /** Releases the session; idempotent. */
  close(): Promise<void>;
}

/** Index of the largest logit of each frame (the first on ties, as ArgMax). */
export function predictedClasses(batch: ScoreBatch, numClasses: number): Int32Array {
  const out = new Int32Array(batch.size);
  for (let i = 0; i < batch.size; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (batch.logits[i * numClasses + c]! > batch.logits[i * numClasses + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** Frame `index`'s output of `head`: a view into the batch's array, with its per-frame shape. */
export function frameOutput(batch: ScoreBatch, head: string, index: number): { readonly data: Float32Array; readonly shape: readonly number[] } {
  const all = batch.scores[head];
  if (!all) throw new Error(`the scoring graph has no "${head}" output (heads: ${Object.keys(batch.scores).join(', ')})`);
  if (index < 0 || index >= batch.size) throw new Error(`frame ${index} is outside a batch of ${batch.size}`);
  const per = all.length / batch.size;
  return { data: all.subarray(index * per, (index + 1) * per), shape: batch.frameShapes?.[head] ?? (per === 1 ? [] : [per]) };
}
